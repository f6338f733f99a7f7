"""Shared support for the approval tests: Slack's API (chat.postMessage, chat.update,
response_url) on the falco-response-testing kit's TLS receiver, recording every message;
clicks signed exactly as Slack signs them, the kmock cluster, and an engine whose delete-pod
action needs approval."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from falco_response import Engine
from falco_response.approval.slack_signature import sign
from falco_response_testing.kubernetes import cid, pod_alert, realistic_pod

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-111-222-APPROVALtokenSECRET"
APPROVER, OTHER_APPROVER, STRANGER = "U024BE7LH", "U0G9QF9C6", "U999STRANGER"


class SlackReceiver:
    """Records what is posted; answers as Slack does (``ok``, a channel and a ts)."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.posts: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        server.expect_request("/api/chat.postMessage").respond_with_handler(self._post)
        server.expect_request("/api/chat.update").respond_with_handler(self._update)
        server.expect_request("/response-url/1").respond_with_handler(self._response)

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        if request.content_type and "json" in request.content_type:
            return dict(json.loads(request.get_data()))
        form = request.form.to_dict()
        for key in ("blocks", "attachments"):
            if key in form:
                form[key] = json.loads(form[key])
        return form

    def _post(self, request: Request) -> Response:
        assert request.headers.get("Authorization") == f"Bearer {TOKEN}"
        self.posts.append(self._body(request))
        return Response(json.dumps({"ok": True, "channel": "C0APPROVE", "ts": "1700000000.0001"}),
                        content_type="application/json")

    def _update(self, request: Request) -> Response:
        self.updates.append(self._body(request))
        return Response(json.dumps({"ok": True}), content_type="application/json")

    def _response(self, request: Request) -> Response:
        self.responses.append(self._body(request))
        return Response("ok")

    @property
    def api_url(self) -> str:
        return self.server.url_for("/api/")

    @property
    def response_url(self) -> str:
        return self.server.url_for("/response-url/1")


@pytest.fixture
def slack(receiver: HTTPServer) -> SlackReceiver:
    """Slack's Web API and a response_url on the kit's TLS ``receiver`` (cleared after each
    test; ``ca_bundle`` is the kit's too)."""
    return SlackReceiver(receiver)


def config(kubeconfig: str, slack: SlackReceiver, ca_bundle: str, store: str, *,
           on_timeout: str = "deny", on_response: bool = False,
           settings: dict[str, Any] | None = None) -> dict[str, Any]:
    approval = {"via": "ask-secops", "approvers": [APPROVER, OTHER_APPROVER],
                "timeout": "15m", "on_timeout": on_timeout}
    kill: dict[str, Any] = {"type": "delete-pod", "with": {
        "cluster": {"kubeconfig": kubeconfig}, "timeout_seconds": 2}}
    response: dict[str, Any] = {"name": "contain-shells", "actions": ["kill"]}
    if on_response:
        response["approval"] = approval
    else:
        kill["approval"] = approval
    return {
        "version": 1,
        "settings": {"store": store, "action_timeout": "30s", **(settings or {})},
        "actions": {
            "ask-secops": {"type": "slack", "with": {
                "token": TOKEN, "channel": "C0APPROVE", "api_url": slack.api_url,
                "ca_bundle": ca_bundle, "max_retries": 0}},
            "kill": kill,
        },
        "responses": [response],
    }


def web_pod(cluster: Any, name: str = "web-1", uid: str | None = None) -> dict[str, Any]:
    return dict(cluster.add_pod(realistic_pod("default", name, "node-a", [cid(hash(name))],
                                              uid=uid)))


def alert_for(name: str = "web-1") -> dict[str, Any]:
    return pod_alert("default", name)


def pending_outcome(engine: Engine, name: str = "web-1") -> Any:
    (result,) = engine.handle(alert_for(name))
    (outcome,) = result.outcomes
    return outcome


def click(approval_id: str, user: str = APPROVER, verdict: str = "approve", *,
          response_url: str | None = None, secret: str = SECRET,
          timestamp: int | None = None) -> tuple[dict[str, str], bytes]:
    """A ``block_actions`` interaction as Slack posts it: form-encoded ``payload``, signed."""
    payload = {
        "type": "block_actions", "team": {"id": "T0001", "domain": "example"},
        "user": {"id": user, "username": "someone", "team_id": "T0001"},
        "api_app_id": "A0001", "token": "legacy-verification-token", "trigger_id": "1.2.3",
        "container": {"type": "message", "message_ts": "1700000000.0001",
                      "channel_id": "C0APPROVE", "is_ephemeral": False},
        "channel": {"id": "C0APPROVE", "name": "secops"},
        "response_url": response_url or "https://hooks.slack.com/actions/T0001/1/abc",
        "actions": [{"type": "button", "block_id": f"approval-{approval_id}",
                     "action_id": f"falco-response-{verdict}", "value": approval_id,
                     "text": {"type": "plain_text", "text": verdict.capitalize()},
                     "action_ts": "1700000001.000200"}],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return ({"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sign(secret, stamp, body),
             "Content-Type": "application/x-www-form-urlencoded"}, body)


def validate_blocks(message: dict[str, Any]) -> None:
    """Every block and attachment block parses and validates as slack_sdk's Block Kit models."""
    from slack_sdk.models.blocks import Block

    blocks = list(message["blocks"]) + [b for a in message.get("attachments") or []
                                        for b in a.get("blocks", [])]
    assert blocks
    for raw in blocks:
        block = Block.parse(raw)
        assert block is not None, raw
        block.validate_json()
        assert block.to_dict()["type"] == raw["type"]
