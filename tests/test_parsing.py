"""Every sample alert and event (tests/data/samples) parses; every kind of bad input gets a precise error and no traceback."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from falco_response import ParseError, Priority
from falco_response.parsing import alert_from_dict, parse_message, split_batch

from .conftest import SAMPLES, alert_dict, build

FALCO_SAMPLES = sorted(p.name for p in SAMPLES.glob("falco*.json"))
LAMBDA_SAMPLES = sorted(p.name for p in SAMPLES.glob("lambda-*.json"))
LOG_ALL = {"version": 1, "responses": [{"name": "all", "actions": [{"type": "log"}]}]}


def test_there_are_samples() -> None:
    assert len(FALCO_SAMPLES) >= 4 and len(LAMBDA_SAMPLES) >= 4


@pytest.mark.parametrize("name", FALCO_SAMPLES)
def test_every_falco_sample_parses(name: str) -> None:
    raw = (SAMPLES / name).read_bytes()
    data = json.loads(raw)
    alert = parse_message(raw)
    assert alert.rule == data["rule"]
    assert alert.priority is Priority.parse(data["priority"])
    assert alert.output == data["output"]
    assert dict(alert.output_fields) == data["output_fields"]
    assert alert.source == {"syscalls": "syscall"}.get(data.get("source"), data.get("source", "syscall"))
    assert alert.tags == frozenset(data.get("tags") or [])
    assert alert.uuid == data.get("uuid")


def test_bracketed_fields_and_audit_source() -> None:
    alert = parse_message((SAMPLES / "falco-k8saudit-exec.json").read_bytes())
    assert alert.field("ka.uri.param[command]") == "bash"
    assert alert.source == "k8s_audit"
    assert (alert.pod_namespace, alert.pod_name) == ("finance", "ledger-0")


def test_legacy_alert_defaults_source_and_tags() -> None:
    alert = parse_message((SAMPLES / "falco-legacy-no-source.json").read_bytes())
    assert alert.source == "syscall" and alert.tags == frozenset()


def test_sidekick_plural_source_is_normalised() -> None:
    assert alert_from_dict(alert_dict(source="syscalls")).source == "syscall"


@pytest.mark.parametrize("name", LAMBDA_SAMPLES)
def test_every_lambda_sample_gives_its_alerts(name: str) -> None:
    event = json.loads((SAMPLES / name).read_text())
    results = build(LOG_ALL).handle(event)
    expected = len(event.get("Records", [event]))
    assert len(results) == expected
    for result in results:
        assert result.error is None, result.error
        assert result.alert is not None and result.outcomes[0].status.value == "ok"


def test_sqs_batch_keeps_message_ids() -> None:
    event = json.loads((SAMPLES / "lambda-sqs-event.json").read_text())
    ids = [mid for mid, _ in split_batch(event)]
    assert ids == [r["messageId"] for r in event["Records"]]
    rules = [r.alert.rule for r in build(LOG_ALL).handle(event) if r.alert]
    assert rules == ["Terminal shell in container", "Write below binary dir"]


def test_sidekick_sns_attributes_become_the_alert() -> None:
    event = json.loads((SAMPLES / "lambda-sns-sidekick-attributes.json").read_text())
    alert = parse_message(event["Records"][0]["Sns"])
    assert alert.rule == "Terminal shell in container"
    assert alert.priority is Priority.CRITICAL
    assert alert.tags == {"container", "mitre_execution", "shell"}
    assert alert.hostname == "worker-3"
    assert (alert.pod_namespace, alert.pod_name) == ("checkout", "cart-5d8f7-qp2x")
    assert alert.output.startswith("09:26:53.589793238: Critical A shell")
    assert alert.time_ns == 1773480413701000000


def test_api_gateway_base64_body() -> None:
    body = (SAMPLES / "falco-syscall-terminal-shell.json").read_bytes()
    event = {"headers": {"content-type": "application/json"}, "requestContext": {},
             "isBase64Encoded": True, "body": base64.b64encode(body).decode()}
    assert parse_message(event).rule == "Terminal shell in container"


BAD: list[tuple[str, Any, str]] = [
    ("not json", b"hello there", "message is not JSON"),
    ("empty", b"   \n", "message is empty"),
    ("array", b"[1, 2]", "message must be a JSON object, got array"),
    ("string", b'"alert"', "message must be a JSON object, got string"),
    ("number", b"42", "message must be a JSON object, got number"),
    ("missing rule", json.dumps(alert_dict(rule=None)), "missing 'rule'"),
    ("missing priority and time", json.dumps({"rule": "x"}), "missing 'priority', 'time'"),
    ("unknown priority", json.dumps(alert_dict(priority="Severe")),
     "alert field 'priority': unknown priority 'Severe'"),
    ("priority not a string", json.dumps(alert_dict(priority=5)), "priority must be a string"),
    ("bad time", json.dumps(alert_dict(time="yesterday")), "alert field 'time'"),
    ("naive time", json.dumps(alert_dict(time="2023-05-25T13:44:05")), "has no timezone"),
    ("rule not a string", json.dumps(alert_dict(rule=["a"])), "'rule' must be a string, got list"),
    ("empty rule", json.dumps(alert_dict(rule="  ")), "'rule' is empty"),
    ("fields not object", json.dumps(alert_dict(output_fields=[1])), "'output_fields' must be an object"),
    ("nested field", json.dumps(alert_dict(output_fields={"a": {"b": 1}})),
     "output field 'a' must be a string, number, boolean or null, got dict"),
    ("tags not list", json.dumps(alert_dict(tags="shell")), "'tags' must be a list of strings"),
    ("hostname not str", json.dumps(alert_dict(hostname=5)), "'hostname' must be a string"),
    ("invalid utf-8", b'{"rule": "\xff\xfe"}', "not valid UTF-8 (byte 10)"),
    ("10 MB", b'{"rule": "' + b"a" * (10 * 1024 * 1024) + b'"}', "over the 1048576-byte limit"),
    ("random object", b'{"hello": "world"}', "not a Falco alert"),
    ("sns with text and no attributes", json.dumps({"Type": "Notification", "Message": "hi"}),
     "SNS message holds neither alert JSON nor falcosidekick attributes"),
]


@pytest.mark.parametrize("label, payload, error", BAD, ids=[b[0] for b in BAD])
def test_bad_input_gives_precise_error(label: str, payload: Any, error: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_message(payload)
    assert error in str(info.value)
    results = build(LOG_ALL).handle(payload)
    assert len(results) == 1 and results[0].alert is None
    assert error in (results[0].error or "")
    assert len(results[0].error or "") < 300


def test_one_bad_record_does_not_lose_the_others() -> None:
    event = json.loads((SAMPLES / "lambda-sqs-event.json").read_text())
    event["Records"].insert(1, {"messageId": "bad-1", "body": "{not json"})
    results = build(LOG_ALL).handle(event)
    assert [r.message_id for r in results] == [event["Records"][i]["messageId"] for i in range(3)]
    assert [r.ok for r in results] == [True, False, True]
    assert "not JSON" in (results[1].error or "")
