"""Fixtures for the AWS tests: a moto server on 127.0.0.1 (a real HTTP server in a thread),
fake credentials, boto3 clients pointed at it, and a clean Lambda handler per test."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto.server import ThreadedMotoServer

from falco_response import aws_lambda, hookimpl

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "data" / "samples"
FALCO_RULES = ROOT / "tests" / "data" / "falco-stable-rules.json"
REGION = "us-east-1"

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto server on 127.0.0.1 (an ephemeral port), with fake credentials in the environment
    so nothing can reach a real AWS account."""
    saved = {k: os.environ.get(k) for k in [*FAKE_ENV, "AWS_ENDPOINT_URL", "AWS_PROFILE",
                                              "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"]}
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    os.environ.update(FAKE_ENV)
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    os.environ["AWS_CONFIG_FILE"] = os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ.pop("AWS_PROFILE", None)
    try:
        yield endpoint
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def client(moto_endpoint: str) -> Any:
    def make(service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=moto_endpoint)
    return make


@pytest.fixture
def lambda_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh handler per test; ``use(config_dict, **env)`` writes the config and sets env."""
    aws_lambda.reset()
    for name in ("FALCO_RESPONSE_CONFIG", "FALCO_RESPONSE_STORE", "FALCO_RESPONSE_DRY_RUN",
                 "FALCO_RESPONSE_DISABLE_PLUGINS", "FALCO_RESPONSE_IDEMPOTENCY_TTL",
                 "FALCO_RESPONSE_IDEMPOTENCY_NAMESPACE", "AWS_LAMBDA_FUNCTION_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FALCO_RESPONSE_LOG_LEVEL", "error")

    def use(config: dict[str, Any], **env: str) -> Path:
        path = tmp_path / f"config-{uuid.uuid4().hex[:6]}.yaml"
        path.write_text(yaml.safe_dump(config))
        monkeypatch.setenv("FALCO_RESPONSE_CONFIG", str(path))
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        aws_lambda.reset()
        return path

    yield use
    aws_lambda.reset()


LOG_ALL: dict[str, Any] = {
    "version": 1,
    "actions": {"note": {"type": "log", "with": {"level": "warning"}}},
    "responses": [{"name": "everything", "actions": ["note"]}],
}


def record_config(**match: Any) -> dict[str, Any]:
    """A config with one response running the tests' ``record`` action."""
    return {"version": 1, "actions": {"rec": {"type": "record"}},
            "responses": [{"name": "record-it", "match": match, "actions": ["rec"]}]}


class Recorder:
    """A plugin for one test: the ``record`` action type counts the alerts it acted on and
    fails for alerts whose uuid is in ``failing``."""

    def __init__(self) -> None:
        self.acted: list[str | None] = []
        self.failing: set[str] = set()

    def make(self, params: Any) -> Any:
        def run(ctx: Any) -> Any:
            if ctx.alert.uuid in self.failing:
                return ctx.failed("simulated API error", target="thing:x")
            self.acted.append(ctx.alert.uuid)
            return ctx.ok(target="thing:x", reason="recorded")
        return run

    @hookimpl
    def register_actions(self, register: Any) -> None:
        register("record", self.make, summary="records alerts (tests)")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def alert(rule: str = "Terminal shell in container", priority: str = "Critical",
          uid: str | None = None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "time": "2026-11-26T20:00:00.123456789Z", "rule": rule, "priority": priority,
        "output": f"20:00:00.123456789: {priority} {rule} (user=root)", "source": "syscall",
        "tags": ["container", "shell"], "hostname": "ip-10-0-1-5",
        "output_fields": {"k8s.ns.name": "payments", "k8s.pod.name": "api-7f9",
                          "user.name": "root"},
        "uuid": uid or str(uuid.uuid4()),
    }
    data.update(extra)
    return data


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """The Lambda SQS event record for a message as ReceiveMessage returned it (what Lambda's
    event source mapping builds from the same message)."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: {"stringValue": attr.get("StringValue"), "stringListValues": [],
                   "binaryListValues": [], "dataType": attr["DataType"]}
            for name, attr in message.get("MessageAttributes", {}).items()},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message in the queue (received, so invisible for the visibility timeout)."""
    found: list[dict[str, Any]] = []
    empty = 0
    while empty < 2:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                    WaitTimeSeconds=0, AttributeNames=["All"],
                                    MessageAttributeNames=["All"]).get("Messages", [])
        empty = empty + 1 if not batch else 0
        found.extend(batch)
    return found


def sns_to_sqs(client: Any, *, raw: bool, filter_policy: str | None = None,
               scope: str = "MessageAttributes") -> tuple[str, str, str]:
    """A topic, a queue subscribed to it; returns (topic_arn, queue_url, queue_arn)."""
    sns, sqs = client("sns"), client("sqs")
    name = f"falco-{uuid.uuid4().hex[:8]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    attributes = {"RawMessageDelivery": "true" if raw else "false"}
    if filter_policy is not None:
        attributes.update(FilterPolicy=filter_policy, FilterPolicyScope=scope)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes)
    return topic, queue_url, queue_arn


def sidekick_attributes(data: dict[str, Any]) -> dict[str, Any]:
    """What falcosidekick's default SNS publish sends as message attributes for an alert."""
    attrs = {"priority": data["priority"], "rule": data["rule"], "source": data["source"]}
    if data.get("tags"):
        attrs["tags"] = ",".join(data["tags"])
    if data.get("hostname"):
        attrs["hostname"] = data["hostname"]
    for key, value in data.get("output_fields", {}).items():
        if isinstance(value, str):
            attrs[key.replace("[", ".").replace("]", "")] = value
    return {k: {"DataType": "String", "StringValue": v} for k, v in attrs.items()}
