"""SNS -> SQS -> Lambda with messages moto actually delivered: raw and enveloped delivery, JSON
and falcosidekick-attribute messages, partial batch failures, and redelivery through a
DynamoDB store on moto."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from falco_response import aws_lambda
from falco_response.aws_lambda import handler
from falco_response.state.dynamodb import DynamoDBStore

from .conftest import (
    Recorder, alert, drain, record_config, sidekick_attributes, sns_to_sqs, sqs_record,
)


def make_table(client: Any) -> str:
    ddb = client("dynamodb")
    name = f"falco-response-state-{uuid.uuid4().hex[:6]}"
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
        "Enabled": True, "AttributeName": "expires_at"})
    return name


def lambda_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {"Records": [sqs_record(m, queue_arn) for m in messages]}


@pytest.mark.parametrize("raw", [False, True], ids=["enveloped", "raw"])
@pytest.mark.parametrize("style", ["json", "sidekick-attributes"])
def test_sns_to_sqs_delivery_reaches_the_action(client: Any, lambda_env: Any, raw: bool,
                                                style: str) -> None:
    lambda_env(record_config(rule="Terminal shell in container", priority=">=critical",
                             fields={"k8s.ns.name": "payments"}))
    rec = Recorder()
    aws_lambda.init(plugins=[rec])
    topic, queue_url, queue_arn = sns_to_sqs(client, raw=raw)
    payload = alert()
    if style == "json":
        client("sns").publish(TopicArn=topic, Message=json.dumps(payload))
    else:  # falcosidekick's default: the output text, the alert in (at most 10) attributes
        client("sns").publish(TopicArn=topic, Message=payload["output"],
                              MessageAttributes=sidekick_attributes(payload))
    messages = drain(client("sqs"), queue_url)
    assert len(messages) == 1
    if raw and style == "sidekick-attributes":
        assert messages[0]["Body"] == payload["output"]
        assert messages[0]["MessageAttributes"]["rule"]["StringValue"] == payload["rule"]
    reply = handler(lambda_event(messages, queue_arn), None)
    assert reply == {"batchItemFailures": []}
    # falcosidekick's attributes carry no uuid: then the action saw None
    assert rec.acted == [payload["uuid"] if style == "json" else None]


def test_partial_batch_failure_retries_only_the_failed_message(client: Any, lambda_env: Any
                                                               ) -> None:
    table = make_table(client)
    lambda_env(record_config(), FALCO_RESPONSE_STORE=f"dynamodb://{table}?region=us-east-1")
    rec = Recorder()
    aws_lambda.init(plugins=[rec])
    topic, queue_url, queue_arn = sns_to_sqs(client, raw=False)
    payloads = [alert() for _ in range(3)]
    for payload in payloads:
        client("sns").publish(TopicArn=topic, Message=json.dumps(payload))
    messages = drain(client("sqs"), queue_url)
    assert len(messages) == 3
    event = lambda_event(messages, queue_arn)
    flaky = payloads[1]["uuid"]
    rec.failing.add(flaky)
    failed_id = next(m["MessageId"] for m in messages if flaky in m["Body"])

    assert handler(event, None) == {"batchItemFailures": [{"itemIdentifier": failed_id}]}
    assert sorted(rec.acted) == sorted([payloads[0]["uuid"], payloads[2]["uuid"]])

    # SQS redelivers the failed message (here, the whole batch again, as a duplicate
    # delivery would): the two that succeeded do not act again, the failed one does.
    rec.failing.clear()
    assert handler(event, None) == {"batchItemFailures": []}
    assert sorted(rec.acted) == sorted(p["uuid"] for p in payloads)
    assert handler(event, None) == {"batchItemFailures": []}
    assert len(rec.acted) == 3
    items = client("dynamodb").scan(TableName=table)["Items"]
    claims = [i for i in items if not i["pk"]["S"].startswith("audit#")]
    assert sorted(i["pk"]["S"] for i in claims) == sorted(
        f"falco-response:uuid:{p['uuid']}" for p in payloads)
    assert all(int(i["expires_at"]["N"]) > 0 for i in items)
    # The audit trail shares the table: the two first successes, the failure, the retry.
    statuses = sorted(r.status for r in DynamoDBStore(table, region="us-east-1").history(0))
    assert statuses == ["failed", "ok", "ok", "ok"]


def test_sns_duplicate_into_two_sqs_messages_acts_once(client: Any, lambda_env: Any) -> None:
    """SNS may deliver one notification twice: two SQS messages, one alert uuid."""
    table = make_table(client)
    lambda_env(record_config(), FALCO_RESPONSE_STORE=f"dynamodb://{table}")
    rec = Recorder()
    aws_lambda.init(plugins=[rec])
    topic, queue_url, queue_arn = sns_to_sqs(client, raw=True)
    payload = alert()
    for _ in range(2):
        client("sns").publish(TopicArn=topic, Message=json.dumps(payload))
    messages = drain(client("sqs"), queue_url)
    assert len({m["MessageId"] for m in messages}) == 2
    handler(lambda_event(messages[:1], queue_arn), None)
    reply = handler(lambda_event(messages[1:], queue_arn), None)
    assert reply == {"batchItemFailures": []}
    assert rec.acted == [payload["uuid"]]


def test_functions_sharing_a_table_do_not_suppress_each_other(client: Any, lambda_env: Any
                                                              ) -> None:
    table = make_table(client)
    event = {"Records": [{"messageId": "m-1", "body": json.dumps(alert()),
                          "eventSource": "aws:sqs"}]}
    acted = []
    for function in ("notify", "contain"):
        lambda_env(record_config(), FALCO_RESPONSE_STORE=f"dynamodb://{table}",
                   AWS_LAMBDA_FUNCTION_NAME=function)
        rec = Recorder()
        aws_lambda.init(plugins=[rec])
        handler(event, None)
        handler(event, None)
        acted.append(len(rec.acted))
    assert acted == [1, 1]
