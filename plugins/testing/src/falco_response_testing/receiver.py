"""Scripting the TLS receiver (a pytest-httpserver ``HTTPServer``): answers a path with a
status (429 with ``Retry-After``, 5xx), answers slowly (a timeout), and reads what arrived."""

from __future__ import annotations

import time
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


def answer(server: HTTPServer, path: str, status: int, body: str = "", *,
           retry_after: float | None = None, times: int | None = None,
           method: str = "POST") -> None:
    """Answer ``method path`` with ``status`` (and ``Retry-After`` when given), ``times``
    times (then the next handler registered for the path answers), or every time."""
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
    handler = (server.expect_request(path, method=method) if times is None
               else server.expect_ordered_request(path, method=method) if times == 1
               else None)
    if handler is not None:
        handler.respond_with_data(body, status=status, headers=headers)
        return
    assert times is not None and times > 1
    for _ in range(times):
        server.expect_ordered_request(path, method=method).respond_with_data(
            body, status=status, headers=headers)


def answer_slowly(server: HTTPServer, path: str, seconds: float, *, status: int = 200,
                  body: str = "ok", method: str = "POST") -> None:
    """Answer ``method path`` only after ``seconds`` (the client's timeout should fire)."""
    def slow(_request: Request) -> Response:
        time.sleep(seconds)
        return Response(body, status=status)

    server.expect_request(path, method=method).respond_with_handler(slow)


def requests_to(server: HTTPServer, path: str | None = None) -> list[Any]:
    """The requests the receiver recorded (werkzeug ``Request``), optionally for one path."""
    return [request for request, _response in server.log
            if path is None or request.path == path]
