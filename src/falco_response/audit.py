"""The audit trail: one record per outcome, kept in the state store for
``settings.audit.retention``, so ``falco-response audit`` can answer "why was this pod
deleted?" long after the logs rotated."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, Optional

import msgspec

from .alert import Alert
from .outcome import Outcome, Status


class AuditRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What happened, to what, why, and in answer to which alert."""

    time_ns: int
    alert_time_ns: int
    uuid: Optional[str]
    rule: str
    priority: str
    hostname: Optional[str]
    response: str
    action: str
    type: str
    target: Optional[str]
    status: str
    reason: Optional[str]
    dry_run: bool
    id: str = ""
    """A short random handle, what ``falco-response undo AUDIT_ID`` takes."""
    undo: Optional[dict[str, Any]] = None
    """What reversing this outcome needs (the action's ``detail["undo"]``), if reversible."""
    by: Optional[str] = None
    """Who ran it, for outcomes a person caused (``falco-response undo --as``)."""
    approval: Optional[str] = None
    """The approval id, for the steps of an action that needed one (approval/)."""
    output: Optional[str] = None
    """The alert's output line (attacker-influenced text: escape it wherever it is shown)."""
    evidence: Optional[str] = None
    """Where ``collect-evidence`` stored what it collected (its outcome's evidence URI)."""

    @property
    def when(self) -> datetime:
        return datetime.fromtimestamp(self.time_ns / 1e9, tz=timezone.utc)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = msgspec.structs.asdict(self)
        data["time"] = self.when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return data


def records_for(alert: Alert, outcomes: Sequence[Outcome],
                dry_runs: Sequence[bool] | None = None) -> list[AuditRecord]:
    """One record per outcome. ``dry_runs`` says which outcomes came from a dry run (a dry
    run's ``failed`` or ``skipped`` outcome is still a dry run); without it, only ``dry_run``
    outcomes are marked."""
    now = time.time_ns()
    if dry_runs is None:
        dry_runs = [o.status is Status.DRY_RUN for o in outcomes]
    return [AuditRecord(
        time_ns=now, alert_time_ns=alert.time_ns, uuid=alert.uuid, rule=alert.rule,
        priority=alert.priority.label, hostname=alert.hostname, response=o.response,
        action=o.action, type=o.type, target=o.target, status=o.status.value,
        reason=o.reason, dry_run=dry or o.status is Status.DRY_RUN, id=new_id(),
        undo=_undo_data(o), approval=o.detail.get("approval") if o.detail else None,
        output=alert.output[:_MAX_OUTPUT] or None, evidence=_evidence(o))
        for o, dry in zip(outcomes, dry_runs, strict=True)]


_MAX_OUTPUT = 2000


def _evidence(outcome: Outcome) -> str | None:
    evidence = outcome.detail.get("evidence")
    uri = evidence.get("uri") if isinstance(evidence, dict) else None
    return uri if isinstance(uri, str) else None


def new_id() -> str:
    import secrets

    return secrets.token_hex(6)


def _undo_data(outcome: Outcome) -> dict[str, Any] | None:
    data = outcome.detail.get("undo") if outcome.status is Status.OK else None
    return data if isinstance(data, dict) else None


def target_matches(record: AuditRecord, wanted: str) -> bool:
    """``ns/pod``, ``pod:ns/pod``, ``node:name`` or a bare node name."""
    target = record.target or ""
    if ":" in wanted:
        return target == wanted
    if "/" in wanted:
        return target == f"pod:{wanted}"
    return target in (f"node:{wanted}", wanted)
