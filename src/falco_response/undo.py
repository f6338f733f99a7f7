"""Reversing one recorded action: what ``falco-response undo AUDIT_ID`` runs.

A reversible action type registers an ``undo`` factory next to its action factory::

    register("label-pod", make_label_pod, params=LabelPodParams, destructive=True,
             undo=make_unlabel_pod)

``make_unlabel_pod(params)`` runs at config load (like the action's factory) and returns a
callable that gets an :class:`UndoContext` and returns an :class:`Outcome`. What it needs to
know is what the action put in its outcome's ``detail["undo"]`` (kept in the audit record):
the object it changed, what it added, the previous value. The undo checks that the object is
still as the action left it and refuses (``skipped``, saying why) when it is not.

Types without ``undo`` cannot be reversed: undo says so and changes nothing. Every undo,
refused or not, is itself an audit record (``response: undo``, ``by``, ``undo: {"of": ID}``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec

from .actions import Settings
from .audit import AuditRecord, new_id
from .outcome import Outcome, OutcomeBuilders, Status

UNDO_RESPONSE = "undo"
DEFAULT_LOOKBACK = 30 * 86400.0


class UndoContext(msgspec.Struct, OutcomeBuilders):
    """What an undo callable gets: the record to reverse, its undo data, who asked, and the
    same outcome builders as :class:`falco_response.ActionContext`."""

    record: AuditRecord
    data: dict[str, Any]
    dry_run: bool
    by: str
    settings: Settings
    log: Any
    deadline: float
    started: float = msgspec.field(default_factory=time.monotonic)

    def _outcome(self, status: Status, target: str | None, reason: str | None,
                 detail: dict[str, Any] | None) -> Outcome:
        return Outcome(UNDO_RESPONSE, self.record.action, self.record.type, status,
                       target if target is not None else self.record.target, reason,
                       {"of": self.record.id, **(detail or {})},
                       (time.monotonic() - self.started) * 1000.0)


class UndoNotFound(Exception):
    """No audit record has that id (within the lookback)."""


def find_record(store: Any, audit_id: str, lookback: float) -> tuple[AuditRecord,
                                                                       list[AuditRecord]]:
    """The record ``audit_id`` and every record since it (to see earlier undos of it)."""
    since = time.time_ns() - int(lookback * 1e9)
    history = store.history(since)
    for i, record in enumerate(history):
        if record.id == audit_id:
            return record, history[i + 1:]
    raise UndoNotFound(f"no audit record {audit_id!r} in the store (looked back "
                       f"{lookback / 86400:g} days)")


def _bound_undo(engine: Any, record: AuditRecord) -> tuple[bool, Callable[..., Outcome] | None]:
    """(whether the action is still configured, its undo callable)."""
    actions = [a for r in engine.config.responses if r.name == record.response
               for a in r.actions if a.name == record.action]
    actions = actions or [a for r in engine.config.responses for a in r.actions
                          if a.name == record.action and a.type.name == record.type]
    if not actions:
        return False, None
    return True, actions[0].undo


def undo(engine: Any, audit_id: str, *, dry_run: bool, by: str,
         timeout: float = 30.0) -> tuple[Outcome, AuditRecord]:
    """Reverse the outcome ``audit_id`` names, record the undo, return (outcome, original).

    Raises :class:`UndoNotFound`; every other refusal is a ``skipped`` outcome.
    """
    store = engine.store
    lookback = engine.config.audit_retention or DEFAULT_LOOKBACK
    record, later = find_record(store, audit_id, lookback)
    ctx = UndoContext(record=record, data=dict(record.undo or {}), dry_run=dry_run, by=by,
                      settings=engine.config.settings, log=engine.log,
                      deadline=time.monotonic() + timeout)
    outcome = _decide(engine, ctx, record, later)
    _record(engine, store, record, outcome, by, lookback, dry_run)
    return outcome, record


def _decide(engine: Any, ctx: UndoContext, record: AuditRecord,
            later: list[AuditRecord]) -> Outcome:
    if record.response == UNDO_RESPONSE:
        return ctx.skipped(f"audit record {record.id} is itself an undo; nothing changed")
    if record.dry_run or record.status != Status.OK.value:
        what = "a dry run" if record.dry_run else f"a {record.status} outcome"
        return ctx.skipped(f"audit record {record.id} is {what}: it changed nothing, so there "
                           "is nothing to undo")
    done = [r for r in later if r.response == UNDO_RESPONSE and r.status == Status.OK.value
            and not r.dry_run and (r.undo or {}).get("of") == record.id]
    if done:
        return ctx.skipped(f"already undone by {done[0].by or '?'} at "
                           f"{done[0].to_dict()['time']} (audit {done[0].id}); nothing changed")
    configured, reverse = _bound_undo(engine, record)
    if not configured:
        return ctx.failed(f"action {record.action!r} ({record.type}) is not in this config: "
                          "undo needs its settings (the cluster to talk to)")
    if reverse is None:
        return ctx.skipped(f"{record.type} cannot be undone: it has no reverse; nothing "
                           "changed")
    if record.undo is None:
        return ctx.skipped(f"audit record {record.id} holds no undo data (the action changed "
                           "nothing, or ran before undo existed); nothing changed")
    try:
        outcome = reverse(ctx)
    except Exception as exc:
        return ctx.failed(f"{type(exc).__name__}: {exc}"[:500])
    if not isinstance(outcome, Outcome):
        return ctx.failed(f"undo returned {type(outcome).__name__}, not an Outcome")
    if ctx.dry_run and outcome.status is Status.OK:
        return ctx.would(f"would: {outcome.reason}", outcome.target, outcome.detail)
    return outcome


def _record(engine: Any, store: Any, record: AuditRecord, outcome: Outcome, by: str,
            retention: float, dry_run: bool) -> None:
    entry = AuditRecord(
        time_ns=time.time_ns(), alert_time_ns=record.alert_time_ns, uuid=record.uuid,
        rule=record.rule, priority=record.priority, hostname=record.hostname,
        response=UNDO_RESPONSE, action=record.action, type=record.type, target=outcome.target,
        status=outcome.status.value, reason=outcome.reason,
        dry_run=dry_run, id=new_id(), undo={"of": record.id}, by=by)
    try:
        store.record([entry], retention)
    except Exception as exc:
        engine.log.error("audit record of an undo failed", of=record.id,
                         error=f"{type(exc).__name__}: {exc}"[:500])
