"""Asking for approval: what happens instead of the action when its alert arrives.

1. Plan: the action runs as a dry run, so the request shows the exact call ``--dry-run``
   prints, and a target that is protected, annotated or gone is answered now, unasked.
2. Cooldowns and blast-radius limits are checked as for the action itself: a request the
   limit would refuse is not sent (the slot is given back; it is taken again at execution).
3. The request is stored, then posted through the ``via`` action; the outcome is ``pending``.

A dry run stops after posting through ``via`` as a dry run: nothing is stored. A store that
fails is a ``failed`` outcome, never an exception, and nothing is posted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from ..actions import ActionContext
from ..outcome import Outcome, Status
from . import records
from .notice import Notice
from .rule import ApprovalRule

if TYPE_CHECKING:
    from ..config import BoundAction, Config, Response
    from ..safety import Safeguards


class Engine(Protocol):
    """What asking needs of :class:`~falco_response.engine.Engine` (which calls this module,
    so it is named by its members here rather than imported back)."""

    config: Config
    dry_run: bool
    log: Any
    memory_approvals: bool
    _guarded: bool
    _safeguards: Safeguards | None

    @property
    def store(self) -> Any: ...

    def _make_safeguards(self) -> Safeguards: ...

    def _call(self, action: BoundAction, ctx: ActionContext, start: float) -> Outcome: ...


def plan(engine: Engine, action: BoundAction, ctx: ActionContext) -> Outcome:
    """The action as a dry run: its target, the call it would make, and the target's uid."""
    dry = msgspec.structs.replace(ctx, dry_run=True, started=time.monotonic())
    return engine._call(action, dry, dry.started)


def notice_for(request: records.Request, kind: str = "request", **extra: Any) -> Notice:
    return Notice(kind=kind, approval_id=request.id, action=request.action,
                  action_type=request.action_type, target=request.target,
                  planned=request.planned, approvers=request.approvers,
                  expires_at=request.expires_at, timeout_label=request.timeout_label,
                  on_timeout=request.on_timeout, fingerprint=request.fingerprint,
                  channel=request.channel, ts=request.ts, **extra)


def post(engine: Engine, request: records.Request, alert: Any, notice: Notice,
         *, dry_run: bool = False) -> Outcome:
    """Run the ``via`` action with ``notice`` (a failed outcome when it is not configured)."""
    via = engine.config.named.get(request.via)
    start = time.monotonic()
    ctx = ActionContext(alert=alert, response=request.response, action=request.via,
                        type=via.type.name if via else "slack",
                        dry_run=dry_run or engine.dry_run or bool(via and via.dry_run),
                        settings=engine.config.settings, log=engine.log,
                        deadline=start + engine.config.action_timeout, started=start,
                        approval=notice)
    if via is None:
        return ctx.failed(f"approval via {request.via!r}: no such action in this config")
    return engine._call(via, ctx, start)


def ask(engine: Engine, ctx: ActionContext, response: Response, action: BoundAction,
        rule: ApprovalRule) -> Outcome:
    """The ``pending`` outcome (or why nothing was asked) for one action of one alert."""
    from ..state import StoreError

    planned = plan(engine, action, ctx)
    if planned.status is not Status.DRY_RUN:
        return planned  # protected, annotated, already gone, no target, failed: no question
    target = planned.target
    uid = planned.detail.get("uid")
    approvers = ", ".join(rule.approvers)
    now = time.time()
    alert_dict = ctx.alert.to_dict()
    request = records.Request(
        id=records.new_id(), created=now, expires_at=now + rule.timeout,
        response=response.name, action=action.name, action_type=action.type.name,
        target=target, uid=str(uid) if uid is not None else None,
        planned=planned.reason or "", fingerprint=records.fingerprint(
            action.name, target, str(uid) if uid is not None else None, alert_dict),
        approvers=rule.approvers, timeout_label=rule.label, on_timeout=rule.on_timeout,
        via=rule.via, alert=alert_dict)
    detail = {"approval": request.id, "planned": request.planned, "via": rule.via,
              "approvers": list(rule.approvers), "on_timeout": rule.on_timeout,
              "expires_at": records.iso(request.expires_at), "fingerprint": request.fingerprint}
    if ctx.dry_run:
        posted = post(engine, request, ctx.alert, notice_for(request), dry_run=True)
        return ctx.would(f"would ask {approvers} (via {rule.via}) to approve: "
                         f"{request.planned}", target=target,
                         detail={**detail, "approval": None, "request": posted.reason})
    if getattr(engine.store, "url", "") == "memory://" and not engine.memory_approvals:
        return ctx.failed("approval needs a shared state store (settings.store: sqlite:// or "
                          "dynamodb://): a request kept in this process's memory could not "
                          "be decided from anywhere else", target=target)
    early, leave = _limits(engine, ctx, response, action)
    if early is not None:
        return early
    try:
        records.save_request(engine.store, request)
    except StoreError as exc:
        failed = ctx.failed(f"state store unavailable, not asking for approval: {exc}",
                            target=target)
        leave(failed)  # nothing was asked: the cooldown is given back too
        return failed
    leave(ctx.pending("asked"))
    posted = post(engine, request, ctx.alert, notice_for(request))
    reason = f"awaiting approval from {approvers} until {records.hhmm(request.expires_at)}"
    if posted.status is Status.OK:
        channel, ts = posted.detail.get("channel"), posted.detail.get("ts")
        if channel and ts:
            try:
                records.save_request(engine.store, msgspec.structs.replace(
                    request, channel=str(channel), ts=str(ts)))
            except StoreError as exc:
                engine.log.warning("approval message reference not stored (the request "
                                   "can still be decided)", approval=request.id, error=str(exc))
    else:
        engine.log.error("approval request not posted", approval=request.id, via=rule.via,
                         reason=posted.reason)
        why = (f"{rule.via} is a dry run" if posted.status is Status.DRY_RUN else
               f"posting through {rule.via} failed: {posted.reason}")
        reason += f" (not posted: {why}; decide with falco-response approve/deny {request.id})"
    return ctx.pending(reason[:500], target=target, detail=detail)


def _limits(engine: Engine, ctx: ActionContext, response: Response, action: BoundAction
            ) -> tuple[Outcome | None, Callable[[Outcome], None]]:
    """Cooldown and limits as at execution, and what gives back what the request does not
    use: the slots always (the request is not the action), the cooldown only when nothing was
    asked (one request per rule and target per period)."""
    if not engine._guarded:
        return None, lambda outcome: None
    safeguards = engine._safeguards or engine._make_safeguards()
    early, ticket = safeguards.enter(ctx, action.type.destructive, action.type.scope,
                                     action.cooldown or response.cooldown)
    return early, lambda outcome: safeguards.leave(ticket, outcome)
