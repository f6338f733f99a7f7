"""Approvals on Lambda: the handler takes the alert, Slack's click through a function URL
event, and the scheduled sweep; pending approvals live in DynamoDB on moto server."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from falco_response import aws_lambda
from falco_response.approval import records
from falco_response.state.dynamodb import DynamoDBStore

from approval_support import APPROVER, SECRET, alert_for, click, config, web_pod
from test_approval_store import dynamodb_table, moto  # noqa: F401


@pytest.fixture
def function(tmp_path: Path, moto: str, kubeconfig: str, slack: Any,  # noqa: F811
             ca_bundle: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoDBStore]:
    table = f"approvals{abs(hash(tmp_path)) % 10**8}"
    dynamodb_table(moto, table)
    path = tmp_path / "falco-response.yaml"
    path.write_text(yaml.safe_dump(config(kubeconfig, slack, ca_bundle, "memory://")))
    monkeypatch.setenv("FALCO_RESPONSE_CONFIG", str(path))
    monkeypatch.setenv("FALCO_RESPONSE_STORE",
                       f"dynamodb://{table}?region=us-east-1&endpoint_url={moto}")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("FALCO_RESPONSE_LOG_LEVEL", "error")
    aws_lambda.reset()
    yield DynamoDBStore(table, region="us-east-1", endpoint_url=moto)
    aws_lambda.reset()


def url_event(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """A Lambda function URL request (payload format 2.0), body base64 as Lambda sends forms."""
    return {"version": "2.0", "routeKey": "$default", "rawPath": "/slack/interactions",
            "rawQueryString": "", "headers": {k.lower(): v for k, v in headers.items()},
            "requestContext": {"http": {"method": "POST", "path": "/slack/interactions",
                                        "sourceIp": "3.3.3.3"}, "requestId": "r1"},
            "body": base64.b64encode(body).decode(), "isBase64Encoded": True}


def deletes(cluster: Any) -> list[str]:
    return [r.url.path for r in cluster.writes() if getattr(r.method, "value", r.method) ==
            "DELETE"]


def test_alert_click_then_schedule(function: DynamoDBStore, cluster: Any, slack: Any) -> None:
    web_pod(cluster)
    answer = aws_lambda.handler(alert_for())
    (result,) = answer["results"]
    (outcome,) = result["outcomes"]
    assert outcome["status"] == "pending"
    approval_id = outcome["detail"]["approval"]
    assert records.load_request(function, approval_id) is not None  # in DynamoDB

    forged = aws_lambda.handler(url_event(*click(approval_id, secret="guess")))
    assert forged["statusCode"] == 401
    reply = aws_lambda.handler(url_event(*click(approval_id,
                                                response_url=slack.response_url)))
    assert reply["statusCode"] == 200
    text = json.loads(reply["body"])["text"]
    assert text.startswith(f"approved by {APPROVER} (slack)")
    assert text.endswith("carried out within a minute")
    assert deletes(cluster) == []  # never after the answer: the schedule carries it out

    assert aws_lambda.handler({"falco_response": "approval-sweep"}) == \
        {"approvals_carried_out": 1}
    assert deletes(cluster) == ["/api/v1/namespaces/default/pods/web-1"]
    assert records.load_result(function, approval_id).status == "ok"
    assert slack.responses and "Approved" in json.dumps(slack.responses[-1])
    assert aws_lambda.handler({"falco_response": "approval-sweep"}) == \
        {"approvals_carried_out": 0}


def test_scheduled_timeout_in_dynamodb(function: DynamoDBStore, cluster: Any,
                                       slack: Any) -> None:
    web_pod(cluster)
    (result,) = aws_lambda.handler(alert_for())["results"]
    approval_id = result["outcomes"][0]["detail"]["approval"]
    request = records.load_request(function, approval_id)
    records.save_request(function, msgspec.structs.replace(request,
                                                           expires_at=time.time() - 1))
    assert aws_lambda.handler({"falco_response": "approval-sweep"}) == \
        {"approvals_carried_out": 1}
    result_ = records.load_result(function, approval_id)
    assert result_.status == "skipped" and "denied by policy" in result_.reason
    assert deletes(cluster) == []
    assert len(slack.updates) == 1
