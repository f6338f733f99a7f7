"""Outcomes: what one action did for one alert, as a value (failures are values too)."""

from __future__ import annotations

import enum
from typing import Any, Optional

import msgspec

from .alert import Alert


class Status(str, enum.Enum):
    OK = "ok"
    SKIPPED = "skipped"
    DRY_RUN = "dry_run"
    FAILED = "failed"
    PENDING = "pending"  # awaiting a person's decision (approval/)

    def __str__(self) -> str:
        return self.value


class Outcome(msgspec.Struct, frozen=True):
    """One action's result for one alert.

    ``reason`` is a short human sentence. ``detail`` carries structured extras (the API call a
    dry run would have made, an HTTP status); it must never hold secrets.
    """

    response: str
    action: str
    type: str
    status: Status
    target: Optional[str] = None
    reason: Optional[str] = None
    detail: dict[str, Any] = {}
    duration_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "response": self.response,
            "action": self.action,
            "status": self.status.value,
            "target": self.target,
            "reason": self.reason,
        }
        if self.detail:
            data["detail"] = self.detail
        return data


class Result(msgspec.Struct):
    """What handling one message gave: the alert (or why it could not be read) and outcomes.

    ``dropped`` is the reason a ``filter_alert`` hook gave, when one did.
    """

    alert: Alert | None
    outcomes: list[Outcome] = []
    error: str | None = None
    dropped: str | None = None
    message_id: str | None = None

    @property
    def ok(self) -> bool:
        """False when the message was unreadable or any action failed (worth a retry)."""
        failed = Status.FAILED
        return self.error is None and all(o.status is not failed for o in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        if self.alert is None:
            return {"error": self.error}
        data: dict[str, Any] = {
            "rule": self.alert.rule,
            "priority": self.alert.priority.label,
            "outcomes": [o.to_dict() for o in self.outcomes],
        }
        if self.alert.uuid:
            data["uuid"] = self.alert.uuid
        if self.dropped:
            data["dropped"] = self.dropped
        return data
