"""Put on PYTHONPATH by a test: in every process of `falco-response serve` (intake, and the
action process it starts), ``Engine.handle_alerts`` (what the runners call on the alerts
intake queued) raises for alerts whose uuid holds ``raise-me``, the first ``$RAISE_TIMES``
times in all (counted in the file ``$RAISE_COUNT``). That is what a bug escaping every guard
of the engine looks like to the server. With ``$KILL_ME`` set, an alert whose uuid holds
``kill-me`` ends the process at once instead (a poison alert: a segfault, the OOM killer),
with ``$KILL_ME`` as the exit code."""

from __future__ import annotations

import os
from typing import Any

if os.environ.get("RAISE_COUNT"):
    from falco_response.engine import Engine

    _handle_alerts = Engine.handle_alerts

    def handle_alerts(self: Engine, parsed: Any, **kwargs: Any) -> Any:
        parsed = list(parsed)
        uuids = " ".join(getattr(alert, "uuid", None) or "" for _, alert in parsed)
        if "kill-me" in uuids and os.environ.get("KILL_ME"):
            with open(os.environ["RAISE_COUNT"], "a") as count:
                count.write("k")
            os._exit(int(os.environ["KILL_ME"]))
        if "raise-me" in uuids:
            with open(os.environ["RAISE_COUNT"], "a") as count:
                count.write("x")
            if os.path.getsize(os.environ["RAISE_COUNT"]) <= int(os.environ["RAISE_TIMES"]):
                raise RuntimeError("boom for the test")
        return _handle_alerts(self, parsed, **kwargs)

    Engine.handle_alerts = handle_alerts  # type: ignore[method-assign]
