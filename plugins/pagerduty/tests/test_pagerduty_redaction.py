"""The ``pagerduty`` action never reports its routing key, even when the far end sends it
back: in a 4xx/5xx body (JSON or not, escaped or not), in headers, or in a reply so garbled
that the HTTP stack raises quoting the request."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trustme
from pagerduty_support import ROUTING_KEY, Logs, alert, make_engine
from falco_response_testing import everything, garbling_receiver
from falco_response import Status
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

ENQUEUE = "/v2/enqueue"


def _with(base_url: str, ca_bundle: str, **extra: Any) -> dict[str, Any]:
    return {"routing_key": ROUTING_KEY, "base_url": base_url, "ca_bundle": ca_bundle,
            "retry_wait": 0.01, "max_attempts": 2, **extra}


def _absent(*texts: str) -> None:
    for text in texts:
        assert "r0utingkeysecret" not in text.lower(), text
        assert ROUTING_KEY[-8:] not in text


def _echo(status: int, as_json: bool) -> Any:
    def handler(request: Request) -> Response:
        sent = request.get_data(as_text=True)
        key = request.get_json().get("routing_key", "")
        body = (json.dumps({"status": "invalid event", "message": f"bad key {key}",
                            "errors": [f"routing_key {key!r} is wrong", sent[:200]]})
                if as_json else f"<html>{key} {json.dumps(key)} {sent[:300]}</html>")
        return Response(body, status=status, headers={"X-Echo": key},
                        content_type="application/json" if as_json else "text/html")
    return handler


@pytest.mark.parametrize("as_json", [True, False])
@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 500, 503])
def test_routing_key_echoed_in_an_error_answer_is_redacted(receiver: HTTPServer, ca_bundle: str,
                                                           logs: Logs, status: int,
                                                           as_json: bool) -> None:
    receiver.expect_request(ENQUEUE).respond_with_handler(_echo(status, as_json))
    engine = make_engine(_with(receiver.url_for("/").rstrip("/"), ca_bundle))
    results = engine.handle(alert())
    [outcome] = results[0].outcomes
    assert outcome.status is Status.FAILED
    assert f"HTTP {status}" in outcome.reason
    if status in (400, 404, 413):
        assert "[redacted]" in outcome.reason          # the far end's words, minus the key
    _absent(everything(results, logs))


def test_an_exception_quoting_the_request_is_redacted(ca: trustme.CA, ca_bundle: str,
                                                      logs: Logs) -> None:
    with garbling_receiver(ca) as port:
        engine = make_engine(_with(f"https://127.0.0.1:{port}", ca_bundle, max_attempts=1))
        results = engine.handle(alert())
    [outcome] = results[0].outcomes
    assert outcome.status is Status.FAILED
    assert "could not reach PagerDuty" in outcome.reason, outcome.reason
    _absent(everything(results, logs))
