"""A pause of the containment switch as the stores keep it (``containment.py`` is the policy
that reads it): who paused which scope (``*`` or an action type), when and why. Here, not in
``containment``, so the stores need nothing above them."""

from __future__ import annotations

from datetime import datetime, timezone

import msgspec

ALL = "*"


class Pause(msgspec.Struct, frozen=True, kw_only=True):
    """Who paused what, when and why."""

    scope: str
    by: str
    reason: str
    time_ns: int

    @property
    def when(self) -> str:
        moment = datetime.fromtimestamp(self.time_ns / 1e9, tz=timezone.utc)
        return moment.isoformat(timespec="seconds").replace("+00:00", "Z")

    def sentence(self) -> str:
        what = "containment" if self.scope == ALL else f"containment ({self.scope})"
        return f"{what} paused by {self.by} at {self.when}: {self.reason}"


encode = msgspec.json.Encoder().encode
decode = msgspec.json.Decoder(Pause).decode
