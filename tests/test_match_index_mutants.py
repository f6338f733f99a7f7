"""The response index, case by case where mutation testing found it undecided: lookups that
must find nothing, conditions the lookups do not decide, pruning by header at every depth of
the index, and file order and ``stop`` across responses found by rule and by value."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from falco_response.match_index import ResponseIndex
from falco_response.matching import CompiledMatch
from falco_response.schema import MatchSpec

from .conftest import build, make_alert


def index_of(matches: list[dict[str, Any]], stops: list[bool] | None = None
             ) -> ResponseIndex[int]:
    entries = [(CompiledMatch(msgspec.convert(m, MatchSpec)), i) for i, m in enumerate(matches)]
    return ResponseIndex(entries, stops or [])


def reference(matches: list[dict[str, Any]], alert: Any,
              stops: list[bool] | None = None) -> list[int]:
    found = []
    for i, m in enumerate(matches):
        if CompiledMatch(msgspec.convert(m, MatchSpec))(alert):
            found.append(i)
            if stops and i < len(stops) and stops[i]:
                break
    return found


def check(matches: list[dict[str, Any]], alerts: list[Any], stops: list[bool] | None = None
          ) -> list[list[int]]:
    """What the index finds for each alert, twice (the second time from what it remembered),
    agreeing with each match evaluated in file order and with a loaded config."""
    index = index_of(matches, stops)
    engine = build({"version": 1, "responses": [
        {"name": f"r{i}", "match": m, "actions": [{"type": "log"}],
         "stop": bool(stops and i < len(stops) and stops[i])} for i, m in enumerate(matches)]})
    found = [index.matching(alert) for alert in alerts]
    assert [index.matching(alert) for alert in alerts] == found
    assert found == [reference(matches, alert, stops) for alert in alerts]
    assert [[int(r.name[1:]) for r in engine.matching(alert)] for alert in alerts] == found
    return found


def alert(**fields: Any) -> Any:
    extra = fields.pop("_alert", {})
    return make_alert(output_fields=fields, **extra)


def test_an_absent_or_null_field_finds_no_value_whatever_it_is_spelled() -> None:
    matches = [{"fields": {"f": "None"}}, {"fields": {"f": "null"}}, {"fields": {"f": ""}},
               {"fields": {"g[1]": "None"}}, {"fields": {"f": "x"}}]
    assert check(matches, [alert(), alert(f=None), alert(**{"g[1]": None}), alert(f="x"),
                           alert(f="None"), alert(**{"g.1": "None"})]) == [
        [], [], [], [4], [0], [3]]


def test_conditions_besides_the_looked_up_value_are_still_checked() -> None:
    matches = [{"fields": {"proc.name": "sh", "fd.name": {"glob": "/etc/*"}}},
               {"fields": {"fd.name": {"glob": "/etc/*"}, "proc.name": "sh"}},
               {"fields": {"proc.name": "sh", "user.uid": {"not_in": [0]}, "k8s.ns.name": "a"}}]
    assert check(matches, [alert(**{"proc.name": "sh", "fd.name": "/var/x"}),
                           alert(**{"proc.name": "sh", "fd.name": "/etc/x"}),
                           alert(**{"proc.name": "sh", "user.uid": "0", "k8s.ns.name": "a"}),
                           alert(**{"proc.name": "sh", "user.uid": 1, "k8s.ns.name": "a"})]) == [
        [], [0, 1], [], [2]]


@pytest.mark.parametrize("matches, alerts, found", [
    # two values of one field, each leading to a response of another priority
    ([{"priority": "critical", "fields": {"f": "a"}}, {"priority": "error", "fields": {"f": "b"}}],
     [alert(f="a"), alert(f="b"), alert(f="b", _alert={"priority": "Error"}),
      alert(f="a", _alert={"priority": "Error"})], [[0], [], [1], []]),
    # a response found at one depth, another one lookup deeper, with different headers
    ([{"priority": "critical", "fields": {"f": 1}},
      {"priority": "error", "fields": {"f": 1, "g": 2}}],
     [alert(f=1, g=2), alert(f=1, g=2, _alert={"priority": "Error"}),
      alert(f=1, g=3, _alert={"priority": "Error"}), alert(f=1)], [[0], [1], [], [0]]),
    # two fields looked up at one place, by responses of different sources
    ([{"source": "syscall", "fields": {"f": "a"}}, {"source": "k8s_audit", "fields": {"g": "b"}},
      {"source": "syscall", "fields": {"h": "c"}}],
     [alert(f="a", g="b", h="c"), alert(g="b", _alert={"source": "k8s_audit"}),
      alert(h="c")], [[0, 2], [1], [2]]),
    # the same under an exact rule
    ([{"rule": "R", "priority": "critical", "fields": {"f": 1}},
      {"rule": "R", "priority": "error", "fields": {"f": 1, "g": 2}},
      {"rule": "R", "tags": ["host"], "fields": {"h": 3}}],
     [alert(f=1, g=2, h=3, _alert={"rule": "R"}),
      alert(f=1, g=2, h=3, _alert={"rule": "R", "priority": "Error", "tags": ["host"]}),
      alert(f=1, g=2, h=3, _alert={"rule": "S"})], [[0], [1, 2], []]),
])
def test_the_header_decides_at_every_depth(matches: list[dict[str, Any]], alerts: list[Any],
                                           found: list[list[int]]) -> None:
    assert check(matches, alerts) == found


def test_responses_found_by_rule_and_by_value_come_in_file_order_with_stop() -> None:
    matches = [{"fields": {"f": "x"}}, {"rule": "R"}, {"rule": "R*", "fields": {"f": "x"}},
               {"rule": "R", "fields": {"f": "x"}}, {}, {"rule": ["R", "S"], "fields": {"g": 1}},
               {"fields": {"f": ["x", "y"], "g": 1}}]
    alerts = [alert(f="x", g=1, _alert={"rule": "R"}), alert(f="y", g=1, _alert={"rule": "S"}),
              alert(f="x", _alert={"rule": "T"})]
    assert check(matches, alerts) == [[0, 1, 2, 3, 4, 5, 6], [4, 5, 6], [0, 4]]
    assert check(matches, alerts, [False, False, False, True]) == [[0, 1, 2, 3], [4, 5, 6], [0, 4]]
    assert check(matches, alerts, [False, False, False, False, False, True]) == [
        [0, 1, 2, 3, 4, 5], [4, 5], [0, 4]]
    assert check(matches, alerts, [True]) == [[0], [4, 5, 6], [0]]
    assert check(matches, alerts, [False, True]) == [[0, 1], [4, 5, 6], [0, 4]]


def test_one_value_wanted_by_responses_of_the_rule_and_of_any_rule() -> None:
    matches = [{"rule": "R", "fields": {"f": "x", "g": "y"}}, {"fields": {"f": "x", "g": "y"}},
               {"rule": "R", "fields": {"f": "x"}}, {"fields": {"f": "x", "g": "z"}}]
    assert check(matches, [alert(f="x", g="y", _alert={"rule": "R"}),
                           alert(f="x", g="z", _alert={"rule": "R"}),
                           alert(f="x", g="y", _alert={"rule": "Q"})]) == [
        [0, 1, 2], [2, 3], [1]]


def test_looked_up_values_compare_as_the_conditions_do() -> None:
    matches = [{"fields": {"f": "true"}}, {"fields": {"f": 7}}, {"fields": {"f": "a"}},
               {"fields": {"f": 2.5}}, {"fields": {"f": False}}, {"fields": {"f": ["b", "1e3"]}}]
    assert check(matches, [alert(f=True), alert(f="007"), alert(f=7.0), alert(f="a"),
                           alert(f="2.50"), alert(f="false"), alert(f="1000"), alert(f=1000),
                           alert(f="A"), alert(f="7a"), alert(f=0)]) == [
        [0], [1], [1], [2], [3], [4], [5], [5], [], [], []]


def test_stops_may_be_shorter_than_the_responses() -> None:
    index = index_of([{}, {}, {}], [False, True])
    assert index.matching(make_alert()) == [0, 1]
    assert index_of([{}, {}]).matching(make_alert()) == [0, 1]


def test_every_looked_up_condition_of_a_response_must_hold() -> None:
    matches = [{"fields": {"a": 1, "b": 2, "c": 3}}, {"fields": {"a": 1, "b": 5, "c": 3}}]
    assert check(matches, [alert(a=1, b=2, c=3), alert(a=1, b=9, c=3), alert(a=1, b=2, c=9),
                           alert(a=9, b=2, c=3), alert(a=1, b=5, c=3)]) == [
        [0], [], [], [], [1]]


def test_a_miss_on_one_field_does_not_end_the_lookups_of_the_others() -> None:
    matches = [{"fields": {"f": "a"}}, {"fields": {"g[1]": "b"}}, {"fields": {"h": "c"}}]
    assert check(matches, [alert(f="zz", h="c"), alert(h="c"), alert(**{"g[1]": "zz", "h": "c"}),
                           alert(**{"g.1": "b", "f": "zz"}), alert(f="a", h="zz")]) == [
        [2], [2], [2], [1], [0]]


@pytest.mark.parametrize("wanted, value, hit", [
    (7, "007", True), (7, "7.0", True), (7, 7.0, True), (7, "7a", False),   # numbers only
    ("true", True, True), ("false", False, True), ("true", "true", True),   # text only
    ("7a", "7a", True), ("a", 7, False), ("1e3", 1000, True),
])
def test_a_table_of_numbers_or_of_text_is_looked_up_by_comparison_key(wanted: Any, value: Any,
                                                                       hit: bool) -> None:
    assert check([{"fields": {"f": wanted}}], [alert(f=value)]) == [[0] if hit else []]


def test_a_missing_field_among_several_lookups_does_not_end_the_others() -> None:
    matches = [{"fields": {"f": ["a", "b"]}}, {"fields": {"g": "x"}}, {"fields": {"h": "y"}},
               {"fields": {"k[1]": "z"}}, {"fields": {"m": "w"}}]
    assert check(matches, [alert(h="y"), alert(m="w"), alert(f="zz", m="w"),
                           alert(**{"k.1": "z"}), alert(f="a", g="x", h="y", m="w")]) == [
        [2], [4], [4], [3], [0, 1, 2, 4]]


class CountedHeader(CompiledMatch):
    """A compiled match that counts how often its header is evaluated."""

    __slots__ = ()
    calls: dict[int, int] = {}

    def header_ok(self, alert: Any) -> bool:
        CountedHeader.calls[id(self)] = CountedHeader.calls.get(id(self), 0) + 1
        return super().header_ok(alert)


def test_each_header_is_decided_once_per_alert_key() -> None:
    """The header depends only on (rule, priority, source, tags): the index remembers its
    answer for each key rather than evaluating it for every alert."""
    specs = [{"priority": "critical"}, {"priority": "error", "fields": {"f": "a"}},
             {"rule": "R*", "fields": {"g": {"glob": "*"}}}]
    matches = [CountedHeader(msgspec.convert(spec, MatchSpec)) for spec in specs]
    index = ResponseIndex([(m, i) for i, m in enumerate(matches)])
    CountedHeader.calls.clear()
    critical = make_alert(rule="Rx", output_fields={"f": "a", "g": "1"})
    error = make_alert(rule="Rx", priority="Error", output_fields={"f": "a"})
    for _ in range(3):
        assert index.matching(critical) == [0, 2]
        assert index.matching(error) == [1]
    assert sorted(CountedHeader.calls.values()) == [2, 2, 2]  # once per key, two keys
