"""The console's pages and actions: each takes (console, request, operator, CSRF binding)
and returns a response; :func:`~.app.page` has checked who is asking and what they may do."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from .. import containment
from . import charts
from .auth import Denied, Operator
from .records import DAY_NS, STATUSES, Filters, Overview, find, undone
from .rendering import ctx, render, when

if TYPE_CHECKING:
    from .context import Console

LOOKBACK_NS = 30 * DAY_NS
MAX_ROWS = 500
log = structlog.get_logger("falco_response.console")


# -- pages --------------------------------------------------------------------------------

def live(console: Console, request: Request, op: Operator, binding: str) -> Response:
    filters = Filters(request.query_params)
    seq, records = console.tail.after(0)
    rows = [r for r in records if filters(r)][-200:][::-1]
    return render("live.html", **ctx(console, op, binding, "live", rows=rows, seq=seq,
                                     filters=filters.values, statuses=STATUSES))


def live_api(console: Console, request: Request, op: Operator, binding: str) -> Response:
    try:
        after = int(request.query_params.get("after", "0"))
    except ValueError:
        after = 0
    filters = Filters(request.query_params)
    seq, records = console.tail.after(after)
    rows = [{"id": r.id, "time": when(r.time_ns), "status": r.status, "response": r.response,
             "action": r.action, "target": r.target or "", "reason": r.reason or "",
             "rule": r.rule, "by": r.by or ""}
            for r in records if filters(r)][-MAX_ROWS:]
    return JSONResponse({"seq": seq, "rows": rows})


def _ns(text: str, default: int) -> int:
    import datetime as dt

    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return default
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return int(moment.timestamp() * 1e9)


def audit(console: Console, request: Request, op: Operator, binding: str) -> Response:
    query = request.query_params
    now = time.time_ns()
    start = _ns(query.get("from", ""), now - DAY_NS)
    end = _ns(query.get("to", ""), now + 60 * 10**9)
    filters = Filters(query)
    records = [r for r in console.store.history(start) if r.time_ns <= end and filters(r)]
    shown = records[-MAX_ROWS:][::-1]
    return render("audit.html", **ctx(console, op, binding, "audit", rows=shown,
                                      total=len(records), filters=filters.values,
                                      statuses=STATUSES, start=when(start)[:-1],
                                      end=when(end)[:-1]))


def record(console: Console, request: Request, op: Operator, binding: str) -> Response:
    record_id = request.path_params["id"]
    found, same = find(console.store, record_id, LOOKBACK_NS)
    if found is None:
        return render("error.html", 404, title="Not found", op=op, csrf="",
                      message=f"no audit record {record_id} in the last 30 days")
    done = undone(same)
    approvals = console.approvals.trail(found) if console.approvals is not None else []
    return render("record.html", **ctx(console, op, binding, "audit", record=found,
                                       outcomes=same, undone=done, approvals=approvals,
                                       can_undo=console.engine is not None))


def do_undo(console: Console, request: Request, op: Operator, binding: str) -> Response:
    from ..undo import UndoNotFound, undo

    record_id = request.path_params["id"]
    if console.engine is None:
        raise Denied(409, "undo needs the console started with --config (the actions' "
                          "settings)")
    try:
        outcome, _ = undo(console.engine, record_id, dry_run=False, by=op.name)
    except UndoNotFound as exc:
        return render("error.html", 404, title="Not found", op=op, csrf="", message=str(exc))
    log.warning("console: undo", by=op.name, of=record_id, status=outcome.status.value,
                target=outcome.target)
    return RedirectResponse(f"/audit/{record_id}", status_code=303)


def switch(console: Console, request: Request, op: Operator, binding: str) -> Response:
    pauses = sorted(console.store.pauses().values(), key=lambda p: p.scope)
    return render("containment.html", **ctx(console, op, binding, "containment",
                                            pauses=pauses,
                                            types=console.destructive_types()))


def do_pause(console: Console, request: Request, op: Operator, binding: str) -> Response:
    form = request.state.form
    try:
        entry = containment.pause(console.store, form.get("scope", "*"), by=op.name,
                                  reason=form.get("reason", ""))
    except ValueError as exc:
        raise Denied(400, str(exc)) from exc
    log.warning("console: containment paused", by=op.name, scope=entry.scope,
                reason=entry.reason)
    return RedirectResponse("/containment", status_code=303)


def do_resume(console: Console, request: Request, op: Operator, binding: str) -> Response:
    scope = request.state.form.get("scope", "*")
    containment.resume(console.store, scope)
    log.warning("console: containment resumed", by=op.name, scope=scope)
    return RedirectResponse("/containment", status_code=303)


def overview(console: Console, request: Request, op: Operator, binding: str) -> Response:
    now = time.time_ns()
    view = Overview(console.store.history(now - DAY_NS), now)
    return render("overview.html", **ctx(console, op, binding, "overview", view=view,
                                         timeline=charts.timeline(view),
                                         rules=charts.bars(view.top_rules),
                                         targets=charts.bars(view.top_targets)))
