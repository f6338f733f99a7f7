"""The ``slack`` action never reports its webhook URL or bot token, even when Slack (or
something in its place) sends them back: in a 4xx/5xx body, in headers, or in a reply so
garbled that the HTTP stack raises with the request quoted in the exception."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trustme
from slack_support import TOKEN, WEBHOOK_SECRET_PART, Logs, alert, make_engine
from falco_response_testing import everything, garbling_receiver
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
    _absent(everything(results, logs))


@pytest.mark.parametrize("status", [400, 401, 404, 500])
def test_token_echoed_in_an_error_answer_is_redacted(receiver: HTTPServer, ca_bundle: str,
                                                     logs: Logs, status: int) -> None:
    receiver.expect_request("/api/chat.postMessage").respond_with_handler(_echo(status, True))
    engine = make_engine({"token": TOKEN, "channel": "C0123456789", "ca_bundle": ca_bundle,
                          "api_url": receiver.url_for("/api/")})
    results = engine.handle(alert())
    [outcome] = results[0].outcomes
    assert outcome.status is Status.FAILED
    _absent(everything(results, logs))


def test_secrets_echoed_in_a_successful_answer_are_redacted(receiver: HTTPServer,
                                                            ca_bundle: str, logs: Logs) -> None:
    receiver.expect_request("/api/chat.postMessage").respond_with_json(
        {"ok": True, "channel": f"C0123 {TOKEN}", "ts": "1685022245.000100"})
    engine = make_engine({"token": TOKEN, "channel": "C0123456789", "ca_bundle": ca_bundle,
                          "api_url": receiver.url_for("/api/")})
    results = engine.handle(alert())
    assert results[0].outcomes[0].status is Status.OK
    assert results[0].outcomes[0].detail["channel"] == "C0123 [redacted]"
    _absent(everything(results, logs))


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
    _absent(everything(results, logs))


@pytest.mark.parametrize("mention", ["<!here>\n", "\n<!here>", "<!here> <!channel>\n"])
def test_a_mention_with_a_newline_is_a_config_error(mention: str) -> None:
    with pytest.raises(ConfigError, match="mention must be Slack mention syntax"):
        make_engine({"webhook_url": "https://hooks.slack.com" + WEBHOOK_PATH,
                     "mention": mention})
