"""The Lambda handler fed what falcosidekick really sends: direct invocation (its Lambda
output), SNS in attribute mode (``aws.sns.rawjson: false``, the default) and raw JSON mode,
SNS -> SQS (one notification delivered twice), and its SQS output (issue 13)."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from falco_response import aws_lambda, hookimpl
from falco_response.aws_lambda import handler
from falco_response.senders import INTERNAL_SKIP

from .conftest import drain, sns_to_sqs, sqs_record

DATA = Path(__file__).resolve().parents[1] / "data" / "senders"


def event(name: str) -> Any:
    return json.loads((DATA / name).read_text())


class Seen:
    """``look`` records each alert it acted on; ``kill`` is the same, declared destructive."""

    def __init__(self) -> None:
        self.alerts: list[Any] = []

    def make(self, params: Any) -> Any:
        def run(ctx: Any) -> Any:
            self.alerts.append(ctx.alert)
            return ctx.ok(target="pod:x/y", reason="seen")
        return run

    @hookimpl
    def register_actions(self, register: Any) -> None:
        register("look", self.make, blocking=False)
        register("kill", self.make, destructive=True, blocking=False)


CONFIG = {"version": 1, "actions": {"look": {"type": "look"}, "kill": {"type": "kill"}},
          "responses": [{"name": "shells", "match": {"rule": "Terminal shell in container"},
                         "actions": ["look"]},
                        {"name": "contain", "actions": ["kill"]}]}


@pytest.fixture
def seen(lambda_env: Any) -> Seen:
    lambda_env(CONFIG)
    found = Seen()
    aws_lambda.init(plugins=[found])
    return found


def statuses(reply: dict[str, Any]) -> list[list[str]]:
    return [[o["status"] for o in r["outcomes"]] for r in reply["results"]]


@pytest.mark.parametrize("name", ["falcosidekick-webhook.json", "talon-capitalised-keys.json",
                                  "falco-http-output.json"])
def test_direct_invocation(seen: Seen, name: str) -> None:
    reply = handler(event(name), None)
    assert statuses(reply) == [["ok", "ok"]]
    assert seen.alerts[0].pod_name == "api-7f9c4b-x2k8d"


def test_direct_invocation_of_the_test_alert_runs_no_destructive_action(seen: Seen) -> None:
    reply = handler(event("falcosidekick-test-alert.json"), None)
    [result] = reply["results"]
    assert [(o["status"], o["reason"]) for o in result["outcomes"]] == [
        ("skipped", INTERNAL_SKIP)]
    assert seen.alerts == []


def test_sns_attribute_mode(seen: Seen) -> None:
    reply = handler(event("lambda-sns-attributes.json"), None)
    assert statuses(reply) == [["ok", "ok"]]
    alert = seen.alerts[0]
    assert alert.uuid is None  # attribute mode carries no uuid
    assert alert.time.isoformat() == "2026-11-28T20:00:00.612000+00:00"  # SNS's, not Falco's
    assert alert.field("proc.aname.2") == "containerd-shim"  # falcosidekick's spelling
    assert alert.field("container.name") is None  # null values are not sent
    assert alert.field("user.uid") == "0"  # a Number attribute arrives as text


def test_sns_raw_json_mode_keeps_the_alert(seen: Seen) -> None:
    reply = handler(event("lambda-sns-rawjson.json"), None)
    assert statuses(reply) == [["ok", "ok"]]
    alert = seen.alerts[0]
    assert alert.uuid == "5f3c0a5e-6d0b-4c43-9a3c-1c2b8e7a9d10"
    assert alert.time.isoformat() == "2026-11-28T20:00:00.123456+00:00"
    assert alert.field("proc.aname[2]") == "containerd-shim"


def test_sns_redelivery_of_an_attribute_mode_message_acts_once(seen: Seen) -> None:
    first = handler(event("lambda-sns-attributes.json"), None)
    second = handler(event("lambda-sns-attributes.json"), None)
    assert statuses(first) == [["ok", "ok"]]
    assert second["results"][0]["dropped"] == ("duplicate delivery: this SNS MessageId was "
                                               "already handled")
    assert len(seen.alerts) == 2  # both responses of the first delivery, nothing more


def test_sns_to_sqs_twice_in_attribute_mode_acts_once(seen: Seen) -> None:
    reply = handler(event("lambda-sqs-sns-attributes-twice.json"), None)
    assert reply == {"batchItemFailures": []}
    assert len(seen.alerts) == 2  # the first message's two responses; the second dropped


def test_falcosidekick_sqs_output(seen: Seen) -> None:
    assert handler(event("lambda-sqs-falcosidekick.json"), None) == {"batchItemFailures": []}
    assert [a.uuid for a in seen.alerts] == ["5f3c0a5e-6d0b-4c43-9a3c-1c2b8e7a9d10"] * 2


def test_sns_to_sqs_on_moto_with_a_duplicate_delivery(client: Any, seen: Seen) -> None:
    """falcosidekick's default publish, as moto's SNS wraps it for an SQS subscriber; SNS's
    second delivery of the same notification is the same body under a new SQS message id."""
    alert = event("falcosidekick-webhook.json")
    topic, queue_url, queue_arn = sns_to_sqs(client, raw=False)
    attributes = {"priority": alert["priority"], "rule": alert["rule"],
                  "source": alert["source"], "tags": ",".join(alert["tags"]),
                  "hostname": alert["hostname"]}
    for key in ("k8s.ns.name", "k8s.pod.name", "proc.name"):
        attributes[key] = alert["output_fields"][key]
    client("sns").publish(TopicArn=topic, Message=alert["output"], MessageAttributes={
        k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()})
    [message] = drain(client("sqs"), queue_url)
    again = copy.deepcopy(message)
    again["MessageId"] = str(uuid.uuid4())
    reply = handler({"Records": [sqs_record(message, queue_arn), sqs_record(again, queue_arn)]},
                    None)
    assert reply == {"batchItemFailures": []}
    assert [a.pod_name for a in seen.alerts] == ["api-7f9c4b-x2k8d"] * 2  # one delivery's two
