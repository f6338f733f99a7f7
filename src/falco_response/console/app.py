"""The console's routes (starlette): pages rendered by Jinja2 with autoescaping, one small
script of our own for the Live page, and the security headers every answer carries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..state import StoreError
from . import pages
from .auth import COOKIE, LOGIN_COOKIE, Auth, Denied, Operator
from .context import Console
from .rendering import HERE, render

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {"content-security-policy": CSP, "x-content-type-options": "nosniff",
           "referrer-policy": "no-referrer", "x-frame-options": "DENY",
           "cache-control": "no-store"}
log = structlog.get_logger("falco_response.console")


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
                return RedirectResponse("/login", status_code=303)
            return render("error.html", exc.status, title="Refused", message=exc.reason,
                          op=None, csrf="")
        except StoreError as exc:
            log.error("console: store failed", error=str(exc)[:300])
            return render("error.html", 503, title="Store unavailable", op=None, csrf="",
                          message="the state store did not answer; try again")

    return endpoint


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
        response = RedirectResponse("/live", status_code=303)
        _cookie(response, auth, COOKIE, auth.session_for(op), int(auth.session_seconds))
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    def logout(c: Console, request: Request, op: Operator, binding: str) -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict",
                               secure=auth.secure)
        return response

    async def home(request: Request) -> Response:
        return RedirectResponse("/live", status_code=303)

    routes = [
        Route("/", home),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", page(console, logout, state_changing=True), methods=["POST"]),
        Route("/live", page(console, pages.live)),
        Route("/api/outcomes", page(console, pages.live_api)),
        Route("/audit", page(console, pages.audit)),
        Route("/audit/{id:str}", page(console, pages.record)),
        Route("/audit/{id:str}/undo", page(console, pages.do_undo, role="admin",
                                           state_changing=True), methods=["POST"]),
        Route("/containment", page(console, pages.switch)),
        Route("/containment/pause", page(console, pages.do_pause, role="admin",
                                         state_changing=True), methods=["POST"]),
        Route("/containment/resume", page(console, pages.do_resume, role="admin",
                                          state_changing=True), methods=["POST"]),
        Route("/overview", page(console, pages.overview)),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    if console.approvals is not None:
        routes.extend(console.approvals.routes(console, page))
    return Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)])
