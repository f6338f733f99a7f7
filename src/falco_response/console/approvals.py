"""The Approvals page: pending approval requests with the time left, Approve and Deny.

It drives the same functions ``falco-response approve|deny`` uses
(:func:`falco_response.approval.execute.decide` then ``execute``), with the signed-in
operator recorded as ``console:NAME`` (via ``console``): the first decision wins on every
backend, whoever makes it, and the action runs once, re-checked at execution. Deciding needs
the ``approver`` role and the console started with ``--config`` (the action's settings).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import structlog
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..audit import AuditRecord
from .auth import Denied, Operator
from .rendering import ctx, render

if TYPE_CHECKING:
    from .context import Console

log = structlog.get_logger("falco_response.console")


def available() -> bool:
    try:
        from ..approval import execute, records  # noqa: F401
    except ImportError:
        return False
    return True


class Approvals:
    def __init__(self, store: Any, engine: Any) -> None:
        self.store = store
        self.engine = engine

    def items(self) -> list[Any]:
        from ..approval import records

        return list(records.listing(self.store))

    def trail(self, record: AuditRecord) -> list[str]:
        """The approval steps for the alert ``record`` answers, oldest first."""
        from ..approval import records

        steps: list[str] = []
        for item in self.items():
            r = item.request
            alert = r.alert if isinstance(r.alert, dict) else {}
            same = (alert.get("uuid") == record.uuid if record.uuid else
                    alert.get("rule") == record.rule and r.target == record.target)
            if not same or r.action != record.action:
                continue
            steps.append(f"requested {records.iso(r.created)} for {r.target or '-'}: "
                         f"{r.planned} (approvers: {', '.join(r.approvers)}; "
                         f"timeout {r.timeout_label}, then {r.on_timeout})")
            if item.decision is not None:
                steps.append(f"{item.decision.verdict}: {records.decided_by(item.decision)}")
            if item.result is not None:
                steps.append(f"outcome {item.result.status}: {item.result.reason or ''}")
        return steps

    def routes(self, console: Console, page: Any) -> list[Route]:
        return [Route("/approvals", page(console, listing)),
                Route("/approvals/{id:str}/{verdict:str}", page(
                    console, decide, role="approver", state_changing=True),
                    methods=["POST"])]


def listing(console: Console, request: Request, op: Operator, binding: str) -> Response:
    from ..approval import records

    now = time.time()
    rows = []
    for item in reversed(console.approvals.items()):
        r = item.request
        left = max(0, int(r.expires_at - now))
        rows.append({"id": r.id, "state": item.state, "response": r.response,
                     "action": r.action, "target": r.target, "planned": r.planned,
                     "requested": records.iso(r.created),
                     "left": f"{left // 60}m {left % 60:02d}s",
                     "decision": records.decided_by(item.decision) if item.decision else "",
                     "verdict": item.decision.verdict if item.decision else "",
                     "result": (f"{item.result.status}: {item.result.reason or ''}"
                                if item.result else "")})
    pending = [row for row in rows if row["state"] == "pending"]
    done = [row for row in rows if row["state"] != "pending"][:100]
    return render("approvals.html", **ctx(console, op, binding, "approvals", pending=pending,
                                          done=done, can_decide=console.engine is not None))


def decide(console: Console, request: Request, op: Operator, binding: str) -> Response:
    from ..approval import records
    from ..approval.execute import DecisionRefused, decide as record_decision, execute

    approval_id, verdict = request.path_params["id"], request.path_params["verdict"]
    if verdict not in ("approve", "deny") or not records.is_id(approval_id):
        raise Denied(404, "no such approval action")
    if console.engine is None:
        raise Denied(409, "deciding needs the console started with --config (to run the "
                          "approved action)")
    try:
        decided = record_decision(console.store, approval_id, verdict, f"console:{op.name}",
                                  "console", check_approver=False)
    except DecisionRefused as exc:
        raise Denied(exc.status, str(exc)) from exc
    log.warning("console: approval decided", by=op.name, approval=approval_id,
                verdict=verdict, won=decided.won)
    if not decided.won:
        raise Denied(409, decided.message())
    execute(console.engine, approval_id)
    return RedirectResponse("/approvals", status_code=303)
