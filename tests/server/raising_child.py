"""An action process whose ``Engine.handle`` raises for alerts whose body holds ``raise-me``,
the first ``$RAISE_TIMES`` times (counted in ``$RAISE_COUNT``, a file): what a bug in the
engine or a plugin that escapes every guard looks like to the action process."""

from __future__ import annotations

import os
import sys
from typing import Any

from falco_response.engine import Engine
from falco_response.server import action_process

_handle = Engine.handle


def handle(self: Engine, payload: Any) -> Any:
    if isinstance(payload, bytes) and b"raise-me" in payload:
        with open(os.environ["RAISE_COUNT"], "a") as count:
            count.write("x")
        if os.path.getsize(os.environ["RAISE_COUNT"]) <= int(os.environ["RAISE_TIMES"]):
            raise RuntimeError("boom for the test")
    return _handle(self, payload)


Engine.handle = handle  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(action_process.main())
