"""The ``webhook`` action never reports its URL (path and query), bearer token, HMAC secret
or header values, even when the receiver sends them back: in a 4xx/5xx body, in headers, in a
redirect's Location, or in a reply so garbled that the HTTP stack raises."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import trustme
from webhook_support import API_KEY, BEARER, QUERY_TOKEN, SECRET, Logs, alert, make_engine
from falco_response import ConfigError, Status
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

PATH = "/hooks/0a1b2c3d4e5f6a7b8c9d"          # a path that is itself a credential


def _with(url: str, ca_bundle: str, **extra: Any) -> dict[str, Any]:
    return {"url": url, "ca_bundle": ca_bundle, "retry_wait": 0.01, "max_attempts": 2,
            "bearer_token": BEARER, "secret": SECRET, "headers": {"X-Api-Key": API_KEY},
            **extra}


def _absent(*texts: str) -> None:
    for text in texts:
        for secret in (BEARER, SECRET, API_KEY, QUERY_TOKEN, PATH, "0a1b2c3d4e5f6a7b8c9d"):
            assert secret.lower() not in text.lower(), (secret, text)


def _echo(status: int) -> Any:
    def handler(request: Request) -> Response:
        said = " ".join([request.url, request.full_path, str(request.headers),
                         request.get_data(as_text=True)[:200], SECRET])
        return Response(f"{said} {json.dumps(said)}", status=status,
                        headers={"X-Echo-Auth": request.headers.get("Authorization", ""),
                                 "X-Echo-Key": request.headers.get("X-Api-Key", ""),
                                 "Location": request.url})
    return handler


def _everything(results: list[Any], logs: Logs) -> str:
    return "\n".join([json.dumps([r.to_dict() for r in results]), repr(results), logs.text()])


@pytest.mark.parametrize("status", [302, 400, 401, 403, 404, 500, 503])
def test_secrets_echoed_in_an_answer_are_redacted(receiver: HTTPServer, ca_bundle: str,
                                                  logs: Logs, status: int) -> None:
    receiver.expect_request(PATH).respond_with_handler(_echo(status))
    engine = make_engine(_with(receiver.url_for(PATH) + f"?token={QUERY_TOKEN}", ca_bundle))
    results = engine.handle(alert())
    [outcome] = results[0].outcomes
    assert outcome.status is Status.FAILED
    assert f"HTTP {status}" in outcome.reason
    _absent(_everything(results, logs))


def test_an_exception_quoting_the_request_is_redacted(ca: trustme.CA, ca_bundle: str,
                                                      logs: Logs) -> None:
    with garbling_receiver(ca) as port:
        url = f"https://127.0.0.1:{port}{PATH}?token={QUERY_TOKEN}"
        engine = make_engine(_with(url, ca_bundle, max_attempts=1))
        results = engine.handle(alert())
    [outcome] = results[0].outcomes
    assert outcome.status is Status.FAILED
    assert "could not reach the webhook" in outcome.reason, outcome.reason
    _absent(_everything(results, logs))


@pytest.mark.parametrize("name", ["X-Team\n", "\nX-Team", "X-Team\r\n"])
def test_a_header_name_with_a_line_break_is_a_config_error(name: str) -> None:
    with pytest.raises(ConfigError, match="is not a valid header name"):
        make_engine({"url": "https://example.com/", "headers": {name: "secops"}})


@contextmanager
def garbling_receiver(ca: trustme.CA) -> Iterator[int]:
    """A TLS server that answers each request with the request itself (line, headers, body)
    as its status line: the client's HTTP stack raises, quoting every secret it sent."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def answer(raw: socket.socket) -> None:
        with context.wrap_socket(raw, server_side=True) as conn:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            while len(body) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                body += chunk
            conn.sendall((head + b" " + body).replace(b"\r\n", b" ")[:60000] + b"\r\n\r\n")

    def serve() -> None:
        for _ in range(3000):                       # at most ~5 minutes of 0.1 s waits
            if stop.is_set():
                return
            try:
                raw, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                answer(raw)
            except (OSError, ssl.SSLError, ValueError):
                continue

    thread = threading.Thread(target=serve, name="garbling-receiver", daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()
