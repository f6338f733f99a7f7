"""The ``webhook`` action never reports its URL (path and query), bearer token, HMAC secret
or header values, even when the receiver sends them back: in a 4xx/5xx body, in headers, in a
redirect's Location, or in a reply so garbled that the HTTP stack raises."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trustme
from webhook_support import API_KEY, BEARER, QUERY_TOKEN, SECRET, Logs, alert, make_engine
from falco_response_testing import everything, garbling_receiver
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


@pytest.mark.parametrize("status", [302, 400, 401, 403, 404, 500, 503])
def test_secrets_echoed_in_an_answer_are_redacted(receiver: HTTPServer, ca_bundle: str,
                                                  logs: Logs, status: int) -> None:
    receiver.expect_request(PATH).respond_with_handler(_echo(status))
    engine = make_engine(_with(receiver.url_for(PATH) + f"?token={QUERY_TOKEN}", ca_bundle))
    results = engine.handle(alert())
    [outcome] = results[0].outcomes
    assert outcome.status is Status.FAILED
    assert f"HTTP {status}" in outcome.reason
    _absent(everything(results, logs))


def test_an_exception_quoting_the_request_is_redacted(ca: trustme.CA, ca_bundle: str,
                                                      logs: Logs) -> None:
    with garbling_receiver(ca) as port:
        url = f"https://127.0.0.1:{port}{PATH}?token={QUERY_TOKEN}"
        engine = make_engine(_with(url, ca_bundle, max_attempts=1))
        results = engine.handle(alert())
    [outcome] = results[0].outcomes
    assert outcome.status is Status.FAILED
    assert "could not reach the webhook" in outcome.reason, outcome.reason
    _absent(everything(results, logs))


@pytest.mark.parametrize("name", ["X-Team\n", "\nX-Team", "X-Team\r\n"])
def test_a_header_name_with_a_line_break_is_a_config_error(name: str) -> None:
    with pytest.raises(ConfigError, match="is not a valid header name"):
        make_engine({"url": "https://example.com/", "headers": {name: "secops"}})
