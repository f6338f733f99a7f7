"""The Lambda handler: every event source, responses per source, init once, config sources,
and the documented environment variables."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from falco_response import ConfigError, aws_lambda
from falco_response.aws_lambda import HandlingFailed, event_kind, handler

from .conftest import LOG_ALL, SAMPLES, Recorder, alert, record_config, sample

LAMBDA_SAMPLES = sorted(p.name for p in SAMPLES.glob("lambda-*.json"))


class Context:
    aws_request_id = "5e1b5c1d-1111-2222-3333-444455556666"
    function_name = "falco-response"


def outcomes(reply: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return [r["outcomes"] for r in reply["results"]]


def test_there_are_lambda_samples() -> None:
    assert len(LAMBDA_SAMPLES) >= 4


@pytest.mark.parametrize("name", LAMBDA_SAMPLES)
def test_every_sample_event_is_handled(lambda_env: Any, name: str) -> None:
    lambda_env(LOG_ALL)
    event = sample(name)
    reply = handler(event, Context())
    if event_kind(event) == "sqs":
        assert reply == {"batchItemFailures": []}
        return
    assert reply["results"], reply
    for result in reply["results"]:
        assert result["rule"] in {"Terminal shell in container", "Write below binary dir"}
        assert [o["status"] for o in result["outcomes"]] == ["ok"]


def test_sqs_sample_acts_on_both_records(lambda_env: Any, recorder: Recorder) -> None:
    lambda_env(record_config())
    aws_lambda.init(plugins=[recorder])
    assert handler(sample("lambda-sqs-event.json"), Context()) == {"batchItemFailures": []}
    assert len(recorder.acted) == 2


def test_sidekick_attributes_sample_reads_the_alert_from_attributes(lambda_env: Any) -> None:
    lambda_env(record_config(rule="Terminal shell in container", priority=">=critical",
                             fields={"k8s.pod.name": "cart-5d8f7-qp2x"}), )
    rec = Recorder()
    aws_lambda.init(plugins=[rec])
    reply = handler(sample("lambda-sns-sidekick-attributes.json"), Context())
    assert outcomes(reply) == [[{"response": "record-it", "action": "rec", "status": "ok",
                                 "target": "thing:x", "reason": "recorded"}]]


def test_direct_invocation_with_the_alert_as_event(lambda_env: Any) -> None:
    lambda_env(LOG_ALL)
    reply = handler(sample("falco-syscall-terminal-shell.json"), Context())
    assert reply["results"][0]["rule"] == "Terminal shell in container"
    assert reply["results"][0]["message_id"] == f"request:{Context.aws_request_id}"


@pytest.mark.parametrize("encoded", [False, True])
def test_function_url_and_api_gateway_bodies(lambda_env: Any, encoded: bool) -> None:
    lambda_env(LOG_ALL)
    body = json.dumps(alert())
    event = {"version": "2.0", "rawPath": "/", "headers": {"content-type": "application/json"},
             "requestContext": {"http": {"method": "POST"}, "requestId": "r-1"},
             "body": base64.b64encode(body.encode()).decode() if encoded else body,
             "isBase64Encoded": encoded}
    reply = handler(event, Context())
    assert reply["statusCode"] == 200
    assert json.loads(reply["body"])["results"][0]["outcomes"][0]["status"] == "ok"


def test_http_statuses_for_unreadable_input_and_failed_actions(lambda_env: Any) -> None:
    lambda_env(record_config())
    rec = Recorder()
    aws_lambda.init(plugins=[rec])
    bad = {"headers": {}, "requestContext": {}, "body": '{"rule": "x"}'}
    reply = handler(bad, Context())
    assert reply["statusCode"] == 422
    assert "missing 'priority', 'time'" in json.loads(reply["body"])["results"][0]["error"]
    failing = alert()
    rec.failing.add(failing["uuid"])
    reply = handler({"headers": {}, "requestContext": {}, "body": json.dumps(failing)}, Context())
    assert reply["statusCode"] == 500


def test_sns_failure_raises_so_lambda_retries(lambda_env: Any) -> None:
    lambda_env(record_config())
    rec = Recorder()
    aws_lambda.init(plugins=[rec])
    event = sample("lambda-sns-event.json")
    payload = alert()
    event["Records"][0]["Sns"]["Message"] = json.dumps(payload)
    rec.failing.add(payload["uuid"])
    with pytest.raises(HandlingFailed, match="record-it/rec: simulated API error"):
        handler(event, Context())
    rec.failing.clear()
    # the failed attempt released its claim: Lambda's retry acts
    assert handler(event, Context())["results"][0]["outcomes"][0]["status"] == "ok"
    assert rec.acted == [payload["uuid"]]


def test_unreadable_sqs_record_is_reported_as_a_batch_item_failure(lambda_env: Any) -> None:
    lambda_env(LOG_ALL)
    event = sample("lambda-sqs-event.json")
    event["Records"][1]["body"] = "not json at all"
    assert handler(event, Context()) == {
        "batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}


def test_init_runs_once_per_cold_start(lambda_env: Any) -> None:
    path = lambda_env(LOG_ALL)
    first = aws_lambda.init()
    handler(sample("lambda-sns-event.json"), Context())
    path.write_text("version: 1\nresponses: [oops")  # a warm instance never re-reads it
    handler(sample("lambda-sns-event.json"), Context())
    assert aws_lambda.init() is first


def test_config_packaged_next_to_the_code_is_the_default(lambda_env: Any, tmp_path: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    lambda_env(LOG_ALL)
    monkeypatch.delenv("FALCO_RESPONSE_CONFIG")
    (tmp_path / "falco-response.yaml").write_text(json.dumps(LOG_ALL))
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    assert aws_lambda.init().engine.config.source == str(tmp_path / "falco-response.yaml")


def test_missing_config_names_the_variable(lambda_env: Any, tmp_path: Any,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    lambda_env(LOG_ALL)
    monkeypatch.delenv("FALCO_RESPONSE_CONFIG")
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    with pytest.raises(ConfigError, match="FALCO_RESPONSE_CONFIG"):
        handler(sample("lambda-sns-event.json"), Context())


def test_config_from_an_ssm_secure_string(lambda_env: Any, client: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    lambda_env(LOG_ALL)
    ssm = client("ssm")
    config = ("version: 1\nactions:\n  note: {type: log, with: {message: '${NOTE_TEXT}'}}\n"
              "responses:\n  - {name: from-ssm, actions: [note]}\n")
    ssm.put_parameter(Name="/falco-response/config", Value=config, Type="SecureString")
    monkeypatch.setenv("FALCO_RESPONSE_CONFIG", "ssm:/falco-response/config")
    monkeypatch.setenv("NOTE_TEXT", "from ssm")
    reply = handler(sample("lambda-sns-event.json"), Context())
    assert reply["results"][0]["outcomes"][0]["response"] == "from-ssm"


def test_missing_ssm_parameter_is_a_config_error(lambda_env: Any, moto_endpoint: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    lambda_env(LOG_ALL)
    monkeypatch.setenv("FALCO_RESPONSE_CONFIG", "ssm:/falco-response/nope")
    with pytest.raises(ConfigError, match="ssm:/falco-response/nope.*ParameterNotFound"):
        aws_lambda.init()


def test_dry_run_variable_forces_dry_run(lambda_env: Any) -> None:
    lambda_env(LOG_ALL, FALCO_RESPONSE_DRY_RUN="1")
    reply = handler(sample("lambda-sns-event.json"), Context())
    assert reply["results"][0]["outcomes"][0]["status"] == "dry_run"


def test_disable_plugins_variable_blocks_a_plugin(lambda_env: Any) -> None:
    lambda_env(LOG_ALL, FALCO_RESPONSE_DISABLE_PLUGINS="log_action")
    with pytest.raises(ConfigError, match="unknown action type 'log'"):
        aws_lambda.init()


def test_store_none_disables_idempotency(lambda_env: Any, recorder: Recorder) -> None:
    lambda_env(record_config(), FALCO_RESPONSE_STORE="none")
    aws_lambda.init(plugins=[recorder])
    event = sample("lambda-sns-event.json")
    handler(event, Context())
    handler(event, Context())
    assert len(recorder.acted) == 2


def test_default_store_catches_redelivery_to_the_same_instance(lambda_env: Any,
                                                               recorder: Recorder) -> None:
    lambda_env(record_config())
    aws_lambda.init(plugins=[recorder])
    event = sample("lambda-sns-event.json")
    handler(event, Context())
    reply = handler(event, Context())
    assert reply["results"][0]["dropped"].startswith("duplicate delivery")
    assert len(recorder.acted) == 1


@pytest.mark.parametrize("name,value,problem", [
    ("FALCO_RESPONSE_LOG_LEVEL", "loud", "use one of debug, info, warning, error"),
    ("FALCO_RESPONSE_IDEMPOTENCY_TTL", "forever", "FALCO_RESPONSE_IDEMPOTENCY_TTL: 'forever'"),
])
def test_bad_variables_are_named(lambda_env: Any, name: str, value: str, problem: str) -> None:
    lambda_env(LOG_ALL, **{name: value})
    with pytest.raises(ValueError, match=problem):
        aws_lambda.init()


def test_idempotency_ttl_variable_sets_the_claim_lifetime(lambda_env: Any) -> None:
    lambda_env(LOG_ALL, FALCO_RESPONSE_IDEMPOTENCY_TTL="30m",
               FALCO_RESPONSE_IDEMPOTENCY_NAMESPACE="team-a")
    runtime = aws_lambda.init()
    assert runtime.idempotency.ttl_seconds == 1800.0
    assert runtime.idempotency.namespace == "team-a"
