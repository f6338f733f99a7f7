"""SNS filter policies: their construction and limits, and the proof on moto that every alert
the engine would act on gets through (an alert for every Falco stable rule at every priority)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from falco_response import Engine, Priority, alert_from_dict, aws_lambda
from falco_response.aws_lambda import handler
from falco_response.cli import main
from falco_response.aws_lambda.filter_policy import MAX_COMBINATIONS, build_policy, combinations
from falco_response.schema import MatchSpec

from .conftest import FALCO_RULES, ROOT, drain, sidekick_attributes, sns_to_sqs, sqs_record


def policy(scope: str = "attributes", **responses: dict[str, Any]) -> Any:
    return build_policy([(name, msgspec.convert(m, MatchSpec)) for name, m in responses.items()],
                        scope)


def test_exact_rules_priorities_and_sources() -> None:
    result = policy(a={"rule": "Terminal shell in container", "priority": ">=error",
                       "source": "syscall"},
                    b={"rule": ["Read sensitive file untrusted"], "priority": "critical",
                       "source": "k8s_audit"})
    assert result.policy == {
        "priority": ["Emergency", "Alert", "Critical", "Error"],
        "rule": ["Terminal shell in container", "Read sensitive file untrusted"],
        "source": ["syscall", "syscalls", {"exists": False}, "k8s_audit"],
    }
    assert result.combinations == 4 * 2 * 4 and not result.notes


def test_globs_become_prefixes_and_cover_exact_names() -> None:
    result = policy(a={"rule": ["Read sensitive file *", "Read sensitive file untrusted"]},
                    b={"rule": "Write below [be]*"})
    assert result.policy == {"rule": [{"prefix": "Read sensitive file "},
                                      {"prefix": "Write below "}]}


def test_a_glob_without_prefix_drops_the_rule_key() -> None:
    result = policy(a={"rule": "*shell*", "priority": ">=warning"})
    assert result.policy == {"priority": ["Emergency", "Alert", "Critical", "Error", "Warning"]}
    assert "no fixed prefix" in result.notes[0]


def test_a_response_that_admits_everything_means_no_filter() -> None:
    result = policy(a={"rule": "x"}, b={"fields": {"k8s.ns.name": "prod"}})
    assert result.policy == {} and not result.filters


def test_over_150_combinations_widens_by_dropping_the_widest_key() -> None:
    rules = [f"rule {i}" for i in range(40)]
    result = policy(a={"rule": rules, "priority": ">=notice"})
    assert result.combinations <= MAX_COMBINATIONS
    assert result.policy == {"priority": ["Emergency", "Alert", "Critical", "Error", "Warning",
                                          "Notice"]}
    assert "dropped rule (40 values)" in result.notes[-1]


def test_body_scope_keeps_quotes_in_rule_names() -> None:
    names = {"rule": 'Launch "suspicious" binary', "priority": "critical"}
    assert policy("body", a=names).policy["rule"] == ['Launch "suspicious" binary']
    assert policy("attributes", a=names).policy["rule"] == [{"prefix": "Launch "}]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["sns-filter-policy", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_prints_the_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(EKS_CONFIG))
    code, out, err = cli(capsys, "--config", str(config), "--scope", "body")
    assert code == 0, err
    assert json.loads(out) == {"priority": ["Emergency", "Alert", "Critical", "Error",
                                                    "Warning", "Notice"]}
    assert "FilterPolicyScope: MessageBody" in err


def test_cli_reports_a_bad_match(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("version: 1\nresponses:\n  - {name: x, match: {priority: '>=loud'}, "
                      "actions: [a]}\n")
    code, _, err = cli(capsys, "--config", str(config))
    assert code == 3
    assert "responses[0].match.priority" in err


# -- the proof on moto ---------------------------------------------------------------------

# The seed's EKS use case: notify on anything serious, contain shells, watch sensitive reads.
EKS_CONFIG: dict[str, Any] = {
    "version": 1,
    "actions": {"note": {"type": "log"}},
    "responses": [
        {"name": "notify-secops", "match": {"priority": ">=error"}, "actions": ["note"]},
        {"name": "contain-shells", "match": {"rule": "Terminal shell in container",
                                             "priority": ">=notice", "source": "syscall"},
         "actions": ["note"]},
        {"name": "sensitive-reads", "match": {"rule": "Read sensitive file *",
                                              "priority": ">=warning"}, "actions": ["note"]},
    ],
}
# Every response names its rules: the policy can filter on rule and priority.
TARGETED_CONFIG: dict[str, Any] = {
    "version": 1,
    "actions": {"note": {"type": "log"}},
    "responses": [
        {"name": "contain-shells", "match": {"rule": ["Terminal shell in container",
                                                      "Run shell untrusted"],
                                             "priority": ">=notice"}, "actions": ["note"]},
        {"name": "binaries", "match": {"rule": ["Write below binary dir", "Write below * dir"],
                                       "priority": ">=error", "source": "syscall"},
         "actions": ["note"]},
        {"name": "sensitive-reads", "match": {"rule": "Read sensitive file *",
                                              "priority": ">=warning"}, "actions": ["note"]},
    ],
}


def every_rule_at_every_priority() -> list[dict[str, Any]]:
    alerts = []
    for doc in json.loads(FALCO_RULES.read_text())["rules"]:
        for priority in Priority:
            alerts.append({
                "time": "2026-11-26T20:00:00.123456789Z", "rule": doc["rule"],
                "priority": priority.label, "source": doc.get("source", "syscall"),
                "output": f"20:00:00: {priority.label} {doc['rule']}",
                "tags": list(doc.get("tags", []))[:5], "hostname": "ip-10-0-1-5",
                "output_fields": {"proc.name": "sh"},
                "uuid": f"{len(alerts):08d}-0000-4000-8000-000000000000",
            })
    return alerts


@pytest.mark.parametrize("scope", ["attributes", "body"])
@pytest.mark.parametrize("name,config", [("eks", EKS_CONFIG), ("targeted", TARGETED_CONFIG)])
def test_every_alert_the_engine_acts_on_is_delivered(
        client: Any, lambda_env: Any, capsys: pytest.CaptureFixture[str], scope: str, name: str,
        config: dict[str, Any]) -> None:
    path = lambda_env(config)
    code, out, err = cli(capsys, "--config", str(path), "--scope", scope, "--compact")
    assert code == 0, err
    filter_policy = out.strip()
    assert json.loads(filter_policy), "this config should filter something"
    topic, queue_url, queue_arn = sns_to_sqs(
        client, raw=False, filter_policy=filter_policy,
        scope="MessageAttributes" if scope == "attributes" else "MessageBody")
    sns = client("sns")
    alerts = every_rule_at_every_priority()
    for start in range(0, len(alerts), 10):
        entries = []
        for i, data in enumerate(alerts[start:start + 10]):
            entry: dict[str, Any] = {"Id": str(i)}
            if scope == "attributes":  # falcosidekick's default publish
                entry.update(Message=data["output"], MessageAttributes=sidekick_attributes(data))
            else:  # falcosidekick with rawjson: true
                entry.update(Message=json.dumps(data))
            entries.append(entry)
        assert not sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries).get(
            "Failed")
    delivered = drain(client("sqs"), queue_url)

    engine = Engine.from_config(config, entry_points=False)
    expected = {(a["rule"], a["priority"]) for a in alerts
                if engine.matching(alert_from_dict(a))}
    results = []
    for start in range(0, len(delivered), 10):
        event = {"Records": [sqs_record(m, queue_arn) for m in delivered[start:start + 10]]}
        assert handler(event, None) == {"batchItemFailures": []}
    runtime = aws_lambda.init()
    for message in delivered:
        results.extend(runtime.engine.handle(json.loads(message["Body"])))
    acted = {(r.alert.rule, r.alert.priority.label) for r in results
             if r.alert is not None and r.outcomes}
    assert acted == expected  # nothing the engine acts on was filtered out
    filtered = len(alerts) - len(delivered)
    assert filtered > 0
    with capsys.disabled():
        print(f"\n[sns-filter-policy {name}/{scope}] published {len(alerts)} alerts "
              f"({len(alerts) // len(Priority)} rules x {len(Priority)} priorities): "
              f"{len(expected)} acted on, {len(delivered)} delivered, {filtered} filtered by SNS; "
              f"policy {filter_policy} ({combinations(json.loads(filter_policy))} combinations)")
