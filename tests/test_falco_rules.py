"""An alert built for every rule of Falco's stable rule set parses and matches by rule name.

The rule set is known by its facts (tests/data/falco-stable-rules.json: name, priority, tags and
the output fields of each rule), not by a copy of the upstream file."""

from __future__ import annotations

import json
from typing import Any

import pytest

from falco_response import Priority

from .conftest import FALCO_RULES, build

RULES: list[dict[str, Any]] = json.loads(FALCO_RULES.read_text())["rules"]


def alert_for(rule: dict[str, Any]) -> dict[str, Any]:
    """What Falco would send for this rule: the fields its output prints, with values."""
    fields: dict[str, Any] = {}
    for i, name in enumerate(rule["fields"]):
        fields[name] = i if name.endswith((".uid", ".pid", ".tty")) else f"value-{i}"
    output = "12:00:00.000000000: {} {} ({})".format(
        rule["priority"].title(), rule["rule"], " ".join(f"{k}={v}" for k, v in fields.items()))
    return {
        "time": "2026-11-26T20:00:00.123456789Z",
        "rule": rule["rule"],
        "priority": rule["priority"],
        "output": output,
        "output_fields": fields,
        "source": rule.get("source", "syscall"),
        "tags": list(rule.get("tags", [])),
        "hostname": "ip-10-0-1-5",
    }


def test_the_rule_set_is_there_and_says_where_it_came_from() -> None:
    assert len(RULES) >= 20
    source = json.loads(FALCO_RULES.read_text())["taken_from"]
    assert source["repository"] == "falcosecurity/rules" and source["commit"]
    assert all(rule["fields"] for rule in RULES)


def test_every_rule_parses_and_matches_by_name() -> None:
    config = {"version": 1, "responses": [
        {"name": f"r{i}", "match": {"rule": r["rule"]}, "actions": [{"type": "log"}]}
        for i, r in enumerate(RULES)
    ]}
    engine = build(config, dry_run=True)
    for i, rule in enumerate(RULES):
        (result,) = engine.handle(alert_for(rule))
        assert result.error is None, (rule["rule"], result.error)
        assert result.alert is not None
        assert result.alert.priority is Priority.parse(rule["priority"])
        assert result.alert.tags == frozenset(rule.get("tags", []))
        assert [o.response for o in result.outcomes] == [f"r{i}"], rule["rule"]


@pytest.mark.parametrize("rule", RULES[:5], ids=[r["rule"] for r in RULES[:5]])
def test_output_fields_named_in_the_rule_arrive(rule: dict[str, Any]) -> None:
    (result,) = build({"version": 1}).handle(alert_for(rule))
    assert result.alert is not None
    for name in rule["fields"]:
        assert result.alert.field(name) is not None
