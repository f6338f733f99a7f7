"""The console listener refuses what intake refuses: oversized or too many headers (431) and
a head sent too slowly (408), before any sign-in check; both for `falco-response console`
and for `serve --console-port`. People use this listener, so the head limit leaves room for
a browser's cookies."""

from __future__ import annotations

import socket
import time
from typing import Any

from falco_response.cli.console import CONSOLE_HEADER_BYTES, CONSOLE_MAX_HEADERS


def _exchange(port: int, head: bytes, *, read_timeout: float = 30.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as conn:
        try:
            conn.sendall(head)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the listener may close as soon as the limit is passed
        chunks = []
        while True:
            try:
                chunk = conn.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def _status(reply: bytes) -> int:
    assert reply.startswith(b"HTTP/1.1 "), reply[:200]
    return int(reply.split(b" ", 2)[1])


def _check_limits(port: int) -> None:
    # A browser-sized head (cookies included) is served: the sign-in page.
    cookie = b"Cookie: " + b"a" * (CONSOLE_HEADER_BYTES // 2) + b"\r\n"
    ok = _exchange(port, b"GET /login HTTP/1.1\r\nHost: x\r\n" + cookie
                   + b"Connection: close\r\n\r\n")
    assert _status(ok) == 200

    huge = b"GET /login HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * (4 * CONSOLE_HEADER_BYTES) \
        + b"\r\n\r\n"
    reply = _exchange(port, huge)
    assert _status(reply) == 431
    assert b"byte limit" in reply

    many = b"GET /login HTTP/1.1\r\nHost: x\r\n" + b"".join(
        b"X-H%d: v\r\n" % i for i in range(CONSOLE_MAX_HEADERS + 5)) + b"\r\n"
    reply = _exchange(port, many)
    assert _status(reply) == 431
    assert b"request headers" in reply


def _console_alone(console_only: Any, setup: Any) -> Any:
    from falco_response import Engine

    from conftest import shell_alert

    engine = Engine.from_config(setup.config)  # the store the console reads must exist
    engine.handle(shell_alert("limits-7f9c8d-aaaaa", uuid="limits-1"))
    engine.close()
    return console_only()


def test_console_alone_refuses_oversized_and_numerous_headers(console_only: Any,
                                                             setup: Any) -> None:
    server = _console_alone(console_only, setup)
    _check_limits(server.console_port)
    assert server.proc.poll() is None
    assert "console request refused by the listener" in server.log.read_text()


def test_serve_console_listener_refuses_oversized_and_numerous_headers(serve: Any) -> None:
    server = serve(console=True)
    _check_limits(server.console_port)
    assert server.proc.poll() is None


def test_console_drops_a_slow_head(console_only: Any, setup: Any) -> None:
    """A slow-loris head (one header line, then nothing) is answered 408 and closed by the
    listener, within its header deadline (10 s), rather than held for ever."""
    server = _console_alone(console_only, setup)
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.console_port), timeout=60) as conn:
        conn.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\n")
        reply = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            reply += chunk
    assert _status(reply) == 408
    # Closed by the listener's deadline, not by our 60 s socket timeout.
    assert time.monotonic() - started < 55
