"""The ``slack`` action never reports its webhook URL or bot token, even when Slack (or
something in its place) sends them back: in a 4xx/5xx body, in headers, or in a reply so
garbled that the HTTP stack raises with the request quoted in the exception."""

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
from slack_support import TOKEN, WEBHOOK_SECRET_PART, Logs, alert, make_engine
from falco_response import ConfigError, Status
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

WEBHOOK_PATH = f"/services/{WEBHOOK_SECRET_PART}"
SECRET_BITS = (WEBHOOK_SECRET_PART, "XXXXwebhookSECRET", "T00000000", "B00000000", TOKEN,
               "TOKENsecret", WEBHOOK_SECRET_PART.replace("/", ""),
               WEBHOOK_SECRET_PART.replace("/", "%2F"))


def _absent(*texts: str) -> None:
    for text in texts:
        for bit in SECRET_BITS:
            assert bit.lower() not in text.lower(), (bit, text)


def _echo(status: int, as_json: bool = False) -> Any:
    def handler(request: Request) -> Response:
        said = (f"{request.url} {request.full_path} {request.path} "
                f"{request.headers.get('Authorization', '')} {request.get_data(as_text=True)[:300]}")
        body = (json.dumps({"ok": False, "error": f"invalid_auth {said}"}) if as_json
                else f"no_service {said} {json.dumps(said)}")
        return Response(body, status=status,
                        headers={"X-Echo-Path": request.path,
                                 "X-Echo-Auth": request.headers.get("Authorization", "none")},
                        content_type="application/json" if as_json else "text/plain")
    return handler


def _everything(results: list[Any], logs: Logs) -> str:
    return "\n".join([json.dumps([r.to_dict() for r in results]), repr(results), logs.text()])


@pytest.mark.parametrize("status", [400, 403, 404, 410, 500, 503])
def test_webhook_url_echoed_in_an_error_body_is_redacted(receiver: HTTPServer, webhook_url: str,
                                                         ca_bundle: str, logs: Logs,
                                                         status: int) -> None:
    receiver.expect_request(WEBHOOK_PATH).respond_with_handler(_echo(status))
    engine = make_engine({"webhook_url": webhook_url, "ca_bundle": ca_bundle})
    results = engine.handle(alert())
    [outcome] = results[0].outcomes
    assert outcome.status is Status.FAILED
    assert f"HTTP {status}" in outcome.reason and "redacted" in outcome.reason
    assert outcome.detail["http_status"] == status
    _absent(_everything(results, logs))


@pytest.mark.parametrize("status", [400, 401, 404, 500])
def test_token_echoed_in_an_error_answer_is_redacted(receiver: HTTPServer, ca_bundle: str,
                                                     logs: Logs, status: int) -> None:
    receiver.expect_request("/api/chat.postMessage").respond_with_handler(_echo(status, True))
    engine = make_engine({"token": TOKEN, "channel": "C0123456789", "ca_bundle": ca_bundle,
                          "api_url": receiver.url_for("/api/")})
    results = engine.handle(alert())
    [outcome] = results[0].outcomes
    assert outcome.status is Status.FAILED
    _absent(_everything(results, logs))


def test_secrets_echoed_in_a_successful_answer_are_redacted(receiver: HTTPServer,
                                                            ca_bundle: str, logs: Logs) -> None:
    receiver.expect_request("/api/chat.postMessage").respond_with_json(
        {"ok": True, "channel": f"C0123 {TOKEN}", "ts": "1685022245.000100"})
    engine = make_engine({"token": TOKEN, "channel": "C0123456789", "ca_bundle": ca_bundle,
                          "api_url": receiver.url_for("/api/")})
    results = engine.handle(alert())
    assert results[0].outcomes[0].status is Status.OK
    assert results[0].outcomes[0].detail["channel"] == "C0123 [redacted]"
    _absent(_everything(results, logs))


@pytest.mark.parametrize("mode", ["webhook", "token"])
def test_an_exception_quoting_the_request_is_redacted(ca: trustme.CA, ca_bundle: str,
                                                      logs: Logs, mode: str) -> None:
    with garbling_receiver(ca) as port:
        base = f"https://127.0.0.1:{port}"
        with_ = ({"webhook_url": f"{base}{WEBHOOK_PATH}"} if mode == "webhook" else
                 {"token": TOKEN, "channel": "C0123456789", "api_url": f"{base}/api/"})
        engine = make_engine({**with_, "ca_bundle": ca_bundle, "max_retries": 0})
        results = engine.handle(alert())
    [outcome] = results[0].outcomes
    assert outcome.status is Status.FAILED
    assert outcome.reason.startswith("could not reach Slack: BadStatusLine"), outcome.reason
    assert "[redacted]" in outcome.reason
    _absent(_everything(results, logs))


@pytest.mark.parametrize("mention", ["<!here>\n", "\n<!here>", "<!here> <!channel>\n"])
def test_a_mention_with_a_newline_is_a_config_error(mention: str) -> None:
    with pytest.raises(ConfigError, match="mention must be Slack mention syntax"):
        make_engine({"webhook_url": "https://hooks.slack.com" + WEBHOOK_PATH,
                     "mention": mention})


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
