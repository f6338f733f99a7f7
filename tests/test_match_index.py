"""The response index (memoised headers, value-indexed fields, shared atoms) finds exactly
what evaluating every response in file order with the reference matcher finds."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from falco_response.alert import Alert
from falco_response.match_index import ResponseIndex
from falco_response.matching import CompiledMatch, dotted
from falco_response.schema import MatchSpec

from .conftest import make_alert
from .test_properties import (alerts, field_ops, field_values, matches, reference,
                              scalar_conditions)

configs = st.lists(st.tuples(matches, st.booleans() | st.just(False)), min_size=1, max_size=12)


def expected(config: list[tuple[dict[str, Any], bool]], alert: Alert) -> list[int]:
    found = []
    for i, (match, stop) in enumerate(config):
        if reference(match, alert):
            found.append(i)
            if stop:
                break
    return found


def index_of(config: list[tuple[dict[str, Any], bool]]) -> ResponseIndex[int]:
    entries = [(CompiledMatch(msgspec.convert(m, MatchSpec)), i) for i, (m, _) in
               enumerate(config)]
    return ResponseIndex(entries, [stop for _, stop in config])


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs, st.lists(alerts, min_size=1, max_size=6))
def test_index_agrees_with_the_reference_in_file_order_with_stop(
        config: list[tuple[dict[str, Any], bool]], stream: list[Alert]) -> None:
    index = index_of(config)
    for alert in stream + stream:  # the second pass is answered from the memoised headers
        assert index.matching(alert) == expected(config, alert)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(matches, min_size=1, max_size=6), st.lists(alerts, min_size=1, max_size=4))
def test_many_copies_of_one_condition_share_its_answer(
        shapes: list[dict[str, Any]], stream: list[Alert]) -> None:
    config = [(m, False) for m in shapes for _ in range(3)]  # the same condition, thrice
    index = index_of(config)
    for alert in stream:
        assert index.matching(alert) == expected(config, alert)


FIELDS = {"k8s.ns.name": "payments", "user.uid": "0", "proc.aname.2": "containerd-shim",
          "ka.uri.param.command": "id", "proc.name": None}


@pytest.mark.parametrize("match, hit", [
    ({"fields": {"proc.aname[2]": "containerd-shim"}}, True),
    ({"fields": {"proc.aname[2]": {"glob": "containerd-*"}}}, True),
    ({"fields": {"proc.aname[2]": {"exists": False}}}, False),
    ({"fields": {"ka.uri.param[command]": ["id", "sh"]}}, True),
    ({"fields": {"ka.uri.param[command]": {"not_in": ["id"]}}}, False),
    ({"fields": {"proc.aname[3]": {"exists": True}}}, False),
    ({"fields": {"proc.aname.2": "containerd-shim"}}, True),
])
def test_bracketed_names_match_falcosidekicks_dotted_spelling(match: dict[str, Any],
                                                               hit: bool) -> None:
    alert = make_alert(output_fields=FIELDS)
    compiled = CompiledMatch(msgspec.convert(match, MatchSpec))
    assert compiled(alert) is hit
    assert (ResponseIndex([(compiled, "r")]).matching(alert) == ["r"]) is hit


def test_the_bracketed_spelling_wins_when_an_alert_has_both() -> None:
    alert = make_alert(output_fields={"proc.aname[2]": "bash", "proc.aname.2": "sh"})
    spec = MatchSpec(fields={"proc.aname[2]": "bash"})
    assert CompiledMatch(spec)(alert)
    assert ResponseIndex([(CompiledMatch(spec), 1)]).matching(alert) == [1]
    assert not CompiledMatch(MatchSpec(fields={"proc.aname[2]": "sh"}))(alert)


def test_dotted_spelling() -> None:
    assert dotted("proc.aname[2]") == "proc.aname.2"
    assert dotted("ka.uri.param[command]") == "ka.uri.param.command"
    assert dotted("proc.name") is None


def test_indexed_values_compare_numbers_by_value() -> None:
    entries = [(CompiledMatch(MatchSpec(fields={"user.uid": v})), str(v)) for v in (0, "1", 2.0)]
    index = ResponseIndex(entries)
    for value, want in [(0, ["0"]), ("00", ["0"]), (1, ["1"]), ("2", ["2.0"]), (2.5, [])]:
        assert index.matching(make_alert(output_fields={"user.uid": value})) == want


def test_a_response_is_found_by_each_of_its_values_and_its_header_still_applies() -> None:
    entries = [
        (CompiledMatch(MatchSpec(priority=">=error", fields={"proc.name": ["sh", "bash"]})), "a"),
        (CompiledMatch(MatchSpec(fields={"proc.name": "sh", "user.uid": 0})), "b"),
        (CompiledMatch(MatchSpec(rule="Other")), "c"),
        (CompiledMatch(MatchSpec()), "d"),
    ]
    index = ResponseIndex(entries, [False, True, False, False])
    sh = {"proc.name": "sh", "user.uid": 0}
    assert index.matching(make_alert(output_fields=sh)) == ["a", "b"]
    assert index.matching(make_alert(output_fields={"proc.name": "bash"})) == ["a", "d"]
    assert index.matching(make_alert(output_fields=sh, priority="Notice")) == ["b"]
    assert index.matching(make_alert(output_fields={"proc.name": "zsh"})) == ["d"]
    assert index.matching(make_alert(rule="Other", output_fields={})) == ["c", "d"]


def test_the_header_memory_is_bounded() -> None:
    index = ResponseIndex([(CompiledMatch(MatchSpec(rule="R*")), 1)])
    index._CACHE_MAX = 3
    for i in range(10):
        assert index.matching(make_alert(rule=f"R{i}")) == [1]
        assert index.matching(make_alert(rule=f"X{i}")) == []
    assert len(index._seen_keys) <= 3


bracketed_matches = st.fixed_dictionaries({"fields": st.dictionaries(
    st.sampled_from(["proc.aname[2]", "ka.uri.param[command]", "proc.name"]),
    scalar_conditions | st.lists(scalar_conditions, min_size=1, max_size=3) | field_ops,
    min_size=1, max_size=2)})
sns_alerts = st.builds(
    lambda fields: make_alert(output_fields=fields),
    st.dictionaries(st.sampled_from(["proc.aname.2", "ka.uri.param.command", "proc.name",
                                     "proc.aname[2]"]), field_values, max_size=3))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(bracketed_matches, min_size=1, max_size=4), st.lists(sns_alerts, max_size=4))
def test_bracketed_conditions_against_sns_spelled_alerts(
        shapes: list[dict[str, Any]], stream: list[Alert]) -> None:
    config = [(m, False) for m in shapes]
    index = index_of(config)
    for alert in stream:
        assert index.matching(alert) == expected(config, alert)
        for match in shapes:
            assert CompiledMatch(msgspec.convert(match, MatchSpec))(alert) is reference(
                match, alert)
