"""Deciding an approval and carrying the decision out.

:func:`decide` writes the first decision (atomically, see :mod:`.records`). :func:`execute`
then runs once per approval, wherever it is called (the replica that took the click, the
CLI, the sweeper): deny and timeout-deny are ``skipped`` outcomes; approve and
timeout-proceed re-resolve the target as a dry run and act only when it is still the one that
was approved (same target, same uid; protected, annotated and limits checked again). The
real outcome is stored, audited and shown in the Slack message.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import msgspec

from ..outcome import Outcome, Status
from . import records
from .request import notice_for, plan, post

if TYPE_CHECKING:
    from ..engine import Engine


class DecisionRefused(Exception):
    """The decision is not accepted: ``status`` 403 (not an approver) or 404 (no such id)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class Decided(msgspec.Struct, frozen=True):
    request: records.Request
    decision: records.Decision
    won: bool
    """False: someone decided first (``decision`` is theirs)."""

    def message(self) -> str:
        verb = {"approve": "approved", "deny": "denied", "timeout": "expired"}[
            self.decision.verdict]
        if self.won:
            return f"{verb} by {records.decided_by(self.decision)}"
        return f"already decided ({verb}) by {records.decided_by(self.decision)}"


def decide(store: Any, approval_id: str, verdict: str, by: str, via: str, *,
           response_url: str | None = None, check_approver: bool = True) -> Decided:
    """Record ``verdict`` (approve/deny/timeout) unless a decision exists. Raises
    :class:`DecisionRefused`, and :class:`~falco_response.state.StoreError`."""
    request = records.load_request(store, approval_id)
    if request is None:
        raise DecisionRefused(404, "unknown_approval", "no such approval (or it has expired "
                              "from the store)")
    if check_approver and by not in request.approvers:
        raise DecisionRefused(403, "not_approver", f"{by} is not an approver of this request")
    decision = records.Decision(verdict=verdict, by=by, via=via, at=time.time(),
                                response_url=response_url)
    if verdict != "timeout" and decision.at >= request.expires_at:
        # Past its timeout a request belongs to the sweeper's policy, not to a late click.
        decision = records.Decision(verdict="timeout", by="policy", via="timeout",
                                    at=request.expires_at, response_url=response_url)
        earlier = records.put_decision(store, request, decision)
        return Decided(request, earlier or decision, False)
    earlier = records.put_decision(store, request, decision)
    return Decided(request, earlier or decision, earlier is None)


def execute(engine: Engine, approval_id: str) -> Outcome | None:
    """Carry out the decision on ``approval_id``: None when there is none yet, or when
    another process has already taken the run."""
    from ..parsing import alert_from_dict

    store = engine.store
    request = records.load_request(store, approval_id)
    decision = records.load_decision(store, approval_id) if request else None
    if request is None or decision is None or not records.claim_run(store, request):
        return None
    alert = alert_from_dict(request.alert)
    response = next((r for r in engine.config.responses if r.name == request.response), None)
    action = next((a for a in (response.actions if response else ())
                   if a.name == request.action), None)
    who = records.decided_by(decision)
    if response is None or action is None:
        outcome = _outcome(request, Status.FAILED, f"{request.response}/{request.action} is no "
                           "longer in the config; nothing done")
        shown = "approved" if decision.verdict == "approve" else "denied"
    elif decision.verdict == "deny":
        outcome = _outcome(request, Status.SKIPPED, f"denied by {who}")
        shown = "denied"
    elif decision.verdict == "timeout" and request.on_timeout != "proceed":
        outcome = _outcome(request, Status.SKIPPED, f"no decision within "
                           f"{request.timeout_label}; denied by policy (on_timeout: deny)")
        shown = "expired"
    else:
        note = (f"approved by {who}" if decision.verdict == "approve" else
                f"no decision within {request.timeout_label}; proceeding by policy")
        outcome = _run(engine, request, alert, response, action, note)
        shown = "approved" if decision.verdict == "approve" else "proceeded"
    _finish(engine, request, decision, alert, outcome, shown)
    return outcome


def _outcome(request: records.Request, status: Status, reason: str) -> Outcome:
    return Outcome(request.response, request.action, request.action_type, status,
                   request.target, reason, {"approval": request.id})


def _run(engine: Engine, request: records.Request, alert: Any, response: Any, action: Any,
         note: str) -> Outcome:
    """Re-resolve as a dry run, compare with what was approved, then act."""
    ctx = engine.approved_context(alert, response, action)
    planned = plan(engine, action, ctx)
    if planned.status is not Status.DRY_RUN:
        outcome = planned  # already gone (ok), protected or annotated (skipped), failed
    elif planned.target != request.target:
        outcome = ctx.skipped(f"refused: the alert now resolves to {planned.target}, not "
                              f"{request.target} as approved", target=planned.target)
    elif (planned.detail.get("uid") or None) != (request.uid or None):
        outcome = ctx.skipped(f"refused: {request.target} was replaced since the request "
                              f"(uid {request.uid} -> {planned.detail.get('uid')}); not acting "
                              "on what nobody approved", target=request.target)
    else:
        outcome = engine.run_approved(alert, response, action, ctx)
    reason = f"{note}; {outcome.reason}" if outcome.reason else note
    return msgspec.structs.replace(outcome, reason=reason[:500],
                                   detail={**outcome.detail, "approval": request.id})


def _finish(engine: Engine, request: records.Request, decision: records.Decision, alert: Any,
            outcome: Outcome, shown: str) -> None:
    from ..audit import records_for
    from ..state import StoreError

    log = engine.log.bind(approval=request.id, response=request.response,
                          action=request.action, target=request.target)
    result = records.Result(status=outcome.status.value, reason=outcome.reason,
                            target=outcome.target, at=time.time())
    decided = Outcome(request.response, request.action, request.action_type, Status.SKIPPED,
                      request.target, f"{shown} by {records.decided_by(decision)}",
                      {"approval": request.id, "decision": decision.verdict,
                       "decided_by": decision.by, "decided_via": decision.via})
    try:
        records.save_result(engine.store, request, result)
        if engine.config.audit_retention is not None:
            audit = records_for(alert, [decided, outcome])
            audit[0] = msgspec.structs.replace(audit[0], status=f"decided:{decision.verdict}")
            engine.store.record(audit, engine.config.audit_retention)
    except StoreError as exc:
        log.error("approval result not stored", error=str(exc))
    log.warning("approval carried out", decision=decision.verdict, by=decision.by,
                via=decision.via, outcome=outcome.status.value, reason=outcome.reason)
    notice = notice_for(request, "update", decision=shown,
                        decided_by=records.decided_by(decision),
                        outcome_status=outcome.status.value, outcome_reason=outcome.reason,
                        response_url=decision.response_url)
    updated = post(engine, request, alert, notice)
    if updated.status is not Status.OK:
        log.warning("approval message not updated", reason=updated.reason)
