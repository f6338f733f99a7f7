"""Approval notices go through the same outcome path as ordinary posts: a post that raises
(Slack unreachable, a garbled reply) is a failed outcome, never an exception out of the
action, and whatever Slack echoes back (the bot token in an error) is redacted."""

from __future__ import annotations

import json
import time
from typing import Any

import msgspec
import pytest
import structlog
import trustme
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response
from falco_response import ActionContext, Settings, Status, alert_from_dict
from falco_response.approval import Notice
from falco_response_slack import SlackParams, make
from falco_response_testing import alert, garbling_receiver
from slack_support import TOKEN


def notice() -> Notice:
    return Notice(kind="request", approval_id="a1", action="kill", action_type="delete-pod",
                  target="pod:payments/api-1", planned="would delete pod payments/api-1",
                  approvers=("U024BE7LH",), expires_at=time.time() + 900,
                  timeout_label="15m", on_timeout="deny", fingerprint="f" * 16)


def context(notice: Notice) -> ActionContext:
    return ActionContext(alert=alert_from_dict(alert()), response="r", action="ask",
                         type="slack", dry_run=False, settings=Settings(),
                         log=structlog.get_logger(), deadline=time.monotonic() + 10,
                         approval=notice)


def slack_params(api_url: str, ca_bundle: str) -> SlackParams:
    return msgspec.convert({"token": TOKEN, "channel": "C0APPROVE", "api_url": api_url,
                            "ca_bundle": ca_bundle, "max_retries": 0}, SlackParams)


def _echo_token(request: Request) -> Response:
    said = request.headers.get("Authorization", "")
    return Response(json.dumps({"ok": False, "error": f"invalid_auth {said}"}),
                    status=200, content_type="application/json")


@pytest.mark.parametrize("kind", ["request", "update"])
def test_a_refusal_echoing_the_token_is_redacted(receiver: HTTPServer, ca_bundle: str,
                                                 kind: str) -> None:
    path = "/api/chat.postMessage" if kind == "request" else "/api/chat.update"
    receiver.expect_request(path).respond_with_handler(_echo_token)
    given: dict[str, Any] = {} if kind == "request" else {
        "kind": "update", "channel": "C0APPROVE", "ts": "1700000000.0001",
        "decision": "approved", "decided_by": "U024BE7LH"}
    run = make(slack_params(receiver.url_for("/api/"), ca_bundle))
    outcome = run(context(msgspec.structs.replace(notice(), **given)))
    assert outcome.status is Status.FAILED
    assert outcome.reason is not None and outcome.reason.startswith("Slack answered HTTP 200")
    assert "invalid_auth Bearer redacted" in outcome.reason  # error codes keep no brackets
    text = json.dumps(outcome.to_dict())
    assert "tokensecret" not in text.lower(), text


def test_a_request_post_that_raises_is_a_redacted_failed_outcome(ca: trustme.CA,
                                                                 ca_bundle: str) -> None:
    with garbling_receiver(ca) as port:
        params = msgspec.convert({"token": TOKEN, "channel": "C0APPROVE",
                                  "api_url": f"https://127.0.0.1:{port}/api/",
                                  "ca_bundle": ca_bundle, "max_retries": 0}, SlackParams)
        run = make(params)
        ctx = ActionContext(alert=alert_from_dict(alert()), response="r", action="ask", type="slack",
                            dry_run=False, settings=Settings(), log=structlog.get_logger(),
                            deadline=time.monotonic() + 10, approval=notice())
        outcome = run(ctx)
    assert outcome.status is Status.FAILED
    assert outcome.reason is not None
    assert outcome.reason.startswith("could not reach Slack: BadStatusLine"), outcome.reason
    assert "[redacted]" in outcome.reason and "TOKENsecret" not in outcome.reason
