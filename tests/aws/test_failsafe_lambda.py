"""The Lambda handler under a bad day: a store that cannot be opened or fails mid-way, a
message whose handling raises, JSON nested 100k deep, lone surrogates; and DynamoDB shared by
processes whose clocks disagree by an hour (moto server, real separate processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from falco_response import aws_lambda, hookimpl
from falco_response.aws_lambda import HandlingFailed, handler
from falco_response.parsing import MAX_NESTING

from .conftest import alert
from .test_delivery import make_table

CHILD = Path(__file__).resolve().parents[1] / "clock_skew.py"
NESTED = f"message is nested deeper than {MAX_NESTING} levels"


class Actions:
    """``zap`` (destructive, fails while ``failing`` is set) and ``tell`` (records)."""

    def __init__(self) -> None:
        self.told: list[str] = []
        self.zapped: list[str] = []
        self.failing = False

    @hookimpl
    def register_actions(self, register: Any) -> None:
        register("zap", lambda p: self._zap, destructive=True)
        register("tell", lambda p: self._tell, blocking=False)

    def _zap(self, ctx: Any) -> Any:
        if self.failing:
            return ctx.failed("API down", target="pod:payments/api-7f9")
        self.zapped.append(ctx.alert.uuid)
        return ctx.ok(target="pod:payments/api-7f9")

    def _tell(self, ctx: Any) -> Any:
        self.told.append(ctx.alert.uuid)
        return ctx.ok(reason="told")


CONFIG: dict[str, Any] = {
    "version": 1,
    "settings": {"limits": {"destructive": {"max": 5, "per": "10m"}}},
    "responses": [
        {"name": "contain", "match": {"rule": "Terminal shell in container"},
         "actions": [{"type": "zap"}, {"type": "tell", "cooldown": "10m"}]},
        {"name": "notify", "match": {"rule": "Read sensitive file untrusted"},
         "actions": [{"type": "tell"}]}]}


def sqs_event(*bodies: str) -> dict[str, Any]:
    return {"Records": [{"messageId": f"m{i}", "receiptHandle": f"r{i}", "body": body,
                         "attributes": {}, "messageAttributes": {},
                         "eventSource": "aws:sqs", "awsRegion": "us-east-1"}
                        for i, body in enumerate(bodies)]}


def failures(reply: dict[str, Any]) -> list[str]:
    return [f["itemIdentifier"] for f in reply["batchItemFailures"]]


def test_an_unopenable_store_fails_closed_and_redrives_only_destructive_records(
        lambda_env: Any, tmp_path: Path) -> None:
    garbage = tmp_path / "state.db"
    garbage.write_bytes(os.urandom(2048))
    lambda_env(CONFIG, FALCO_RESPONSE_STORE=f"sqlite://{garbage}")
    actions = Actions()
    aws_lambda.init(plugins=[actions])
    shell, read = alert(uid="u-shell"), alert("Read sensitive file untrusted", uid="u-read")
    reply = handler(sqs_event(json.dumps(shell), json.dumps(read)))
    assert failures(reply) == ["m0"]
    assert actions.zapped == [] and sorted(actions.told) == ["u-read", "u-shell"]


def test_a_store_failing_on_every_call_fails_closed(lambda_env: Any, client: Any,
                                                    moto_endpoint: str) -> None:
    """A DynamoDB table that does not exist: the store opens, then every call fails."""
    lambda_env(CONFIG, FALCO_RESPONSE_STORE="dynamodb://no-such-table?region=us-east-1")
    actions = Actions()
    aws_lambda.init(plugins=[actions])
    reply = handler(sqs_event(json.dumps(alert(uid="u-1")),
                              json.dumps(alert("Read sensitive file untrusted", uid="u-2"))))
    assert failures(reply) == ["m0"]
    assert actions.zapped == [] and sorted(actions.told) == ["u-1", "u-2"]


def test_a_redrive_acts_and_a_notifier_with_a_cooldown_is_not_sent_twice(
        lambda_env: Any, client: Any, moto_endpoint: str) -> None:
    table = make_table(client)
    lambda_env(CONFIG, FALCO_RESPONSE_STORE=f"dynamodb://{table}?region=us-east-1")
    actions = Actions()
    aws_lambda.init(plugins=[actions])
    event = sqs_event(json.dumps(alert(uid="u-1")))
    actions.failing = True
    assert failures(handler(event)) == ["m0"]
    actions.failing = False
    assert failures(handler(event)) == []  # SQS's redelivery: the containment happens now
    assert actions.zapped == ["u-1"] and actions.told == ["u-1"]
    assert failures(handler(event)) == []  # a duplicate after success: dropped
    assert actions.zapped == ["u-1"] and actions.told == ["u-1"]


def test_a_record_whose_handling_raises_fails_alone(lambda_env: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    lambda_env(CONFIG)
    actions = Actions()
    runtime = aws_lambda.init(plugins=[actions])
    real = runtime.engine.handle

    def handle(message: Any, **kwargs: Any) -> Any:
        if "u-boom" in str(message):
            raise RuntimeError("a bug")
        return real(message, **kwargs)

    monkeypatch.setattr(runtime.engine, "handle", handle)
    reply = handler(sqs_event(json.dumps(alert(uid="u-1")), json.dumps(alert(uid="u-boom")),
                              json.dumps(alert(uid="u-3"))))
    assert failures(reply) == ["m1"]
    assert sorted(actions.zapped) == ["u-1", "u-3"]


def test_a_deep_record_fails_alone(lambda_env: Any) -> None:
    lambda_env(CONFIG)
    actions = Actions()
    aws_lambda.init(plugins=[actions])
    deep = [json.dumps(alert(uid="u-1"))[:-1] + ', "output_fields": ' + '{"a":' * 100_000
            + "1" + "}" * 100_000 + "}", "[" * 100_000 + "]" * 100_000]
    reply = handler(sqs_event(json.dumps(alert(uid="u-0")), *deep, json.dumps(alert(uid="u-3"))))
    assert failures(reply) == ["m1", "m2"]
    assert sorted(actions.zapped) == ["u-0", "u-3"]
    http = handler({"requestContext": {}, "headers": {}, "body": deep[1]})
    assert http["statusCode"] == 422 and json.loads(http["body"])["results"] == [
        {"error": NESTED}]


def test_a_lone_surrogate_is_an_error_not_a_crash(lambda_env: Any) -> None:
    lambda_env(CONFIG)
    actions = Actions()
    aws_lambda.init(plugins=[actions])
    bad = alert(uid="u-1")
    bad["rule"] = "\ud800x"
    with pytest.raises(HandlingFailed, match="alert field 'rule' holds a lone surrogate"):
        handler(bad)
    http = handler({"requestContext": {}, "headers": {}, "body": json.dumps(bad)})
    assert http["statusCode"] == 422 and "surrogate" in http["body"]
    bad["output_fields"]["proc.name"] = "\udfff"
    bad["rule"] = "Terminal shell in container"
    reply = handler({"Records": [{"messageId": "m0", "eventSource": "aws:sqs",
                                  "body": bad}, {"messageId": "m1", "eventSource": "aws:sqs",
                                                 "body": json.dumps(alert(uid="u-2"))}]})
    assert failures(reply) == ["m0"] and actions.zapped == ["u-2"]


# -- clock skew on DynamoDB --------------------------------------------------------------


def run(url: str, skew: float, *pods: str) -> list[dict[str, Any]]:
    done = subprocess.run([sys.executable, str(CHILD), url, str(skew), *pods],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "FALCO_RESPONSE_LOG_LEVEL": "error"})
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.parametrize("first, second", [(0, 3600), (-3600, 0), (3600, -3600)],
                         ids=["then-ahead", "behind-first", "ahead-then-behind"])
def test_skewed_processes_share_one_limit_and_cooldown_on_dynamodb(
        client: Any, moto_endpoint: str, first: float, second: float) -> None:
    url = f"dynamodb://{make_table(client)}?region=us-east-1&endpoint_url={moto_endpoint}"
    one = run(url, first, "p0", "p1", "p2")
    assert [o["status"] for o in one] == ["ok"] * 3
    two = run(url, second, "p3", "p4", "p5", "p0")
    assert [o["status"] for o in two] == ["skipped"] * 4, two
    assert [o["reason"].split(":")[0] for o in two] == ["blast_radius"] * 3 + ["cooldown"]


def test_the_dynamodb_clock_is_the_servers(client: Any, moto_endpoint: str) -> None:
    import time

    from falco_response.state.dynamodb import DynamoDBStore

    store = DynamoDBStore(make_table(client), region="us-east-1", endpoint_url=moto_endpoint)
    assert store._server.now() is None
    assert store.claim("k", 60)
    now = store._server.now()
    assert now is not None and abs(now - time.time()) < 5
    assert store.held("k") and not store.held("other")
