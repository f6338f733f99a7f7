"""The console's routes (starlette): pages rendered by Jinja2 with autoescaping, one small
script of our own for the Live page, and the security headers every answer carries."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import containment
from ..state import StoreError
from . import charts
from .auth import COOKIE, LOGIN_COOKIE, Auth, Denied, Operator
from .records import STATUSES, DAY_NS, Filters, Overview, Tail, find, undone

HERE = Path(__file__).parent
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {"content-security-policy": CSP, "x-content-type-options": "nosniff",
           "referrer-policy": "no-referrer", "x-frame-options": "DENY",
           "cache-control": "no-store"}
LOOKBACK_NS = 30 * DAY_NS
MAX_ROWS = 500
log = structlog.get_logger("falco_response.console")


@dataclass
class Console:
    """What the pages need: the store, the auth, and (for undo and the list of destructive
    action types) the engine built from ``--config``, when there is one."""

    store: Any
    auth: Auth
    engine: Any = None
    approvals: Any = None
    tail: Tail = field(init=False)

    def __post_init__(self) -> None:
        self.tail = Tail(self.store)

    def destructive_types(self) -> list[str]:
        if self.engine is None:
            return []
        return sorted({a.type.name for r in self.engine.config.responses for a in r.actions
                       if a.type.destructive})


_env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                          autoescape=True, undefined=jinja2.StrictUndefined)


def _time(ns: int | None) -> str:
    if not ns:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ns / 1e9)) + "Z"


_env.filters["when"] = _time


class SecurityHeaders:
    """Adds :data:`HEADERS` (the CSP first) to every answer, static files included."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.decode("latin-1").lower() not in HEADERS]
                headers.extend((k.encode(), v.encode()) for k, v in HEADERS.items())
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def render(name: str, status: int = 200, **context: Any) -> Response:
    html = _env.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status)


FORM_LIMIT = 16 * 1024


async def read_form(request: Request) -> dict[str, str]:
    """A urlencoded form (all the console's forms are), at most 16 KiB."""
    from urllib.parse import parse_qsl

    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise Denied(400, "expected a form (application/x-www-form-urlencoded)")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_LIMIT:
            raise Denied(413, "form too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Denied(400, "unreadable form") from exc
    return dict(pairs)


Handler = Callable[[Console, Request, Operator, str], Any]


def page(console: Console, handler: Handler, *, role: str = "viewer",
         state_changing: bool = False) -> Callable[[Request], Any]:
    """Wrap a handler: identify the operator, check their role and (for a POST) the CSRF
    token, and turn refusals and store failures into pages."""

    async def endpoint(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        form: dict[str, str] = {}
        try:
            op, binding = console.auth.identify(request)
            if state_changing:
                form = await read_form(request)
                console.auth.check_csrf(request, binding, form.get("csrf"))
            if not op.may(role):
                raise Denied(403, f"this needs the {role} role; {op.name} is {op.role}")
            request.state.form = form
            result: Response = await run_in_threadpool(handler, console, request, op, binding)
            return result
        except Denied as exc:
            if exc.status == 401 and request.method == "GET" and \
                    not request.url.path.startswith("/api/"):
                return (RedirectResponse("/login", status_code=303))
            return render("error.html", exc.status, title="Refused", message=exc.reason,
                          op=None, csrf="")
        except StoreError as exc:
            log.error("console: store failed", error=str(exc)[:300])
            return render("error.html", 503, title="Store unavailable", op=None, csrf="",
                          message="the state store did not answer; try again")

    return endpoint


def ctx(console: Console, op: Operator, binding: str, active: str, **more: Any) -> dict[str, Any]:
    return {"op": op, "csrf": console.auth.csrf_for(binding), "active": active,
            "approvals_on": console.approvals is not None, **more}


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
    rows = [{"id": r.id, "time": _time(r.time_ns), "status": r.status, "response": r.response,
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
                                      statuses=STATUSES, start=_time(start)[:-1],
                                      end=_time(end)[:-1]))


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


# -- signing in ---------------------------------------------------------------------------

def _cookie(response: Response, auth: Auth, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, secure=auth.secure,
                        samesite="strict", path="/")


def login_form(auth: Auth, message: str = "", status: int = 200) -> Response:
    nonce, token = auth.login_nonce()
    response = render("login.html", status, op=None, csrf=token, message=message,
                      proxy=bool(auth.proxy_header))
    _cookie(response, auth, LOGIN_COOKIE, nonce, 600)
    return response


def build_app(console: Console) -> Starlette:
    auth = console.auth

    async def login(request: Request) -> Response:
        if request.method == "GET":
            return login_form(auth)
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        try:
            data = await read_form(request)
            auth.check_csrf(request, f"login|{nonce}", str(data.get("csrf") or ""))
        except Denied as exc:
            return login_form(auth, exc.reason, exc.status)
        op = auth.sign_in(str(data.get("token") or ""))
        if op is None:
            log.warning("console: sign-in refused", client=request.client.host
                        if request.client else None)
            return login_form(auth, "that token is not an operator's", 403)
        log.info("console: signed in", operator=op.name, role=op.role)
        response = (RedirectResponse("/live", status_code=303))
        _cookie(response, auth, COOKIE, auth.session_for(op), int(auth.session_seconds))
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    def logout(c: Console, request: Request, op: Operator, binding: str) -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict",
                               secure=auth.secure)
        return response

    async def home(request: Request) -> Response:
        return (RedirectResponse("/live", status_code=303))

    routes = [
        Route("/", home),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", page(console, logout, state_changing=True), methods=["POST"]),
        Route("/live", page(console, live)),
        Route("/api/outcomes", page(console, live_api)),
        Route("/audit", page(console, audit)),
        Route("/audit/{id:str}", page(console, record)),
        Route("/audit/{id:str}/undo", page(console, do_undo, role="admin",
                                           state_changing=True), methods=["POST"]),
        Route("/containment", page(console, switch)),
        Route("/containment/pause", page(console, do_pause, role="admin",
                                         state_changing=True), methods=["POST"]),
        Route("/containment/resume", page(console, do_resume, role="admin",
                                          state_changing=True), methods=["POST"]),
        Route("/overview", page(console, overview)),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    if console.approvals is not None:
        routes.extend(console.approvals.routes(console, page))
    return Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)])
