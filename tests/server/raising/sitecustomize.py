"""Put on PYTHONPATH by a test: in every process of `falco-response serve` (intake, and the
action process it starts), ``Engine.handle`` raises for bodies holding ``raise-me``, the
first ``$RAISE_TIMES`` times in all (counted in the file ``$RAISE_COUNT``). That is what a
bug escaping every guard of the engine looks like to the server. With ``$KILL_ME`` set, a
body holding ``kill-me`` ends the process at once instead (a poison alert: a segfault, the
OOM killer), with ``$KILL_ME`` as the exit code."""

from __future__ import annotations

import os
from typing import Any

if os.environ.get("RAISE_COUNT"):
    from falco_response.engine import Engine

    _handle = Engine.handle

    def handle(self: Engine, payload: Any) -> Any:
        if isinstance(payload, bytes) and b"kill-me" in payload and os.environ.get("KILL_ME"):
            with open(os.environ["RAISE_COUNT"], "a") as count:
                count.write("k")
            os._exit(int(os.environ["KILL_ME"]))
        if isinstance(payload, bytes) and b"raise-me" in payload:
            with open(os.environ["RAISE_COUNT"], "a") as count:
                count.write("x")
            if os.path.getsize(os.environ["RAISE_COUNT"]) <= int(os.environ["RAISE_TIMES"]):
                raise RuntimeError("boom for the test")
        return _handle(self, payload)

    Engine.handle = handle  # type: ignore[method-assign]
