"""Outcomes: what one action did for one alert, as a value (failures are values too)."""

from __future__ import annotations

import enum
import time
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


class OutcomeBuilders:
    """The outcome builders an action's and an undo's context share (one way to make an
    outcome). The context defines ``deadline`` and ``_outcome``, which fills in who made it."""

    __slots__ = ()
    deadline: float

    def _outcome(self, status: Status, target: str | None, reason: str | None,
                 detail: dict[str, Any] | None) -> Outcome:
        raise NotImplementedError

    def remaining(self) -> float:
        """Seconds left before ``deadline``."""
        return max(0.0, self.deadline - time.monotonic())

    def ok(self, target: str | None = None, reason: str | None = None,
           detail: dict[str, Any] | None = None) -> Outcome:
        return self._outcome(Status.OK, target, reason, detail)

    def skipped(self, reason: str, target: str | None = None,
                detail: dict[str, Any] | None = None) -> Outcome:
        return self._outcome(Status.SKIPPED, target, reason, detail)

    def would(self, reason: str, target: str | None = None,
              detail: dict[str, Any] | None = None) -> Outcome:
        """A dry-run outcome: ``reason`` says exactly what would have happened."""
        return self._outcome(Status.DRY_RUN, target, reason, detail)

    def failed(self, reason: str, target: str | None = None,
               detail: dict[str, Any] | None = None) -> Outcome:
        return self._outcome(Status.FAILED, target, reason, detail)


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
