"""The per-key plans of the response index: the rule's node and the rest planned as one (a
field's tables merged into one lookup, at every depth), text-only tables looked up by the
alert's text itself, and each response's remaining conditions as shared atoms. Each is held
to the reference matcher, in file order, with ``stop``."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from falco_response.alert import Alert

from .conftest import make_alert
from .test_match_index import expected, index_of
from .test_properties import RULES, alerts, field_ops, scalar_conditions

# The same conditions written with an exact rule, a glob, and no rule: the index keeps the
# first under the rule's node and the others under the root, so an alert of that rule meets
# both nodes' tables of one field, at the first level and below.
rule_spellings = st.sampled_from([{"rule": "Terminal shell in container"},
                                  {"rule": ["Terminal shell in container", "Write below etc"]},
                                  {"rule": "Terminal shell *"}, {"rule": "*"}, {}])
equalities = st.sampled_from(["sh", "bash", 0, "0", 1, True, "true", 1.0, "/etc/shadow"])
conditions = st.dictionaries(
    st.sampled_from(["proc.name", "user.uid", "k8s.ns.name", "proc.aname[2]"]),
    equalities | st.lists(equalities, min_size=1, max_size=3) | field_ops
    | scalar_conditions, min_size=1, max_size=3)


@st.composite
def merged_configs(draw: st.DrawFn) -> list[tuple[dict[str, Any], bool]]:
    config = []
    for fields in draw(st.lists(conditions, min_size=1, max_size=4)):
        for spelling in draw(st.lists(rule_spellings, min_size=2, max_size=3)):
            config.append(({**spelling, "fields": fields}, draw(st.booleans())))
    return draw(st.permutations(config))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(merged_configs(), st.lists(alerts, min_size=1, max_size=6))
def test_merged_tables_agree_with_the_reference(config: list[tuple[dict[str, Any], bool]],
                                                stream: list[Alert]) -> None:
    index = index_of(config)
    for alert in stream + stream:  # the second pass is answered from the remembered plans
        assert index.matching(alert) == expected(config, alert)


def test_one_value_in_the_rules_node_and_the_rests_finds_both_in_file_order() -> None:
    config = [({"rule": "R*", "fields": {"proc.name": "sh", "k8s.ns.name": "prod"}}, False),
              ({"rule": "R", "fields": {"proc.name": ["sh", "bash"]}}, False),
              ({"fields": {"proc.name": "sh", "k8s.ns.name": ["prod", "dev"]}}, True),
              ({"rule": "R", "fields": {"proc.name": "sh", "k8s.ns.name": "prod"}}, False)]
    index = index_of(config)
    prod = {"proc.name": "sh", "k8s.ns.name": "prod"}
    for _ in range(2):
        assert index.matching(make_alert(rule="R", output_fields=prod)) == [0, 1, 2]
        assert index.matching(make_alert(rule="R", output_fields={"proc.name": "bash"})) == [1]
        assert index.matching(make_alert(rule="Rx", output_fields=prod)) == [0, 2]
        assert index.matching(make_alert(rule="S", output_fields=prod)) == [2]
        assert index.matching(make_alert(rule="R", output_fields={
            "proc.name": "sh", "k8s.ns.name": "dev"})) == [1, 2]


def test_a_response_past_a_stop_in_another_node_is_not_returned() -> None:
    config = [({"fields": {"proc.name": "sh"}}, True), ({"rule": "R", "fields": {"proc.name": "sh"}}, False)]
    index = index_of(config)
    assert index.matching(make_alert(rule="R", output_fields={"proc.name": "sh"})) == [0]
    config = [({"rule": "R", "fields": {"proc.name": "sh"}}, True), ({"fields": {"proc.name": "sh"}}, False)]
    index = index_of(config)
    assert index.matching(make_alert(rule="R", output_fields={"proc.name": "sh"})) == [0]


def test_text_tables_and_number_tables_compare_by_value() -> None:
    config = [({"fields": {"user.name": "root"}}, False),  # text only
              ({"rule": "R", "fields": {"user.name": ["root", "7"]}}, False),  # a number too
              ({"fields": {"user.uid": "0"}}, False)]
    index = index_of(config)
    for value, rule, want in [("root", "R", [0, 1]), ("root", "S", [0]), ("7", "R", [1]),
                              ("07", "R", [1]), (7, "R", [1]), (7.0, "R", [1]), ("07", "S", []),
                              (True, "R", []), ("true", "R", [])]:
        assert index.matching(make_alert(rule=rule, output_fields={"user.name": value})) == want
    for value, want in [("0", [2]), ("00", [2]), ("-0", [2]), (0, [2]), (0.0, [2]), (False, []),
                        ("0x", []), ("0" * 70, [])]:  # 64 characters or more stay text
        assert index.matching(make_alert(output_fields={"user.uid": value})) == want


def test_long_numeric_text_finds_only_the_same_text() -> None:
    long = "1" * 70
    index = index_of([({"fields": {"proc.name": long}}, False),
                      ({"fields": {"proc.name": "sh"}}, False)])
    assert index.matching(make_alert(output_fields={"proc.name": long})) == [0]
    assert index.matching(make_alert(output_fields={"proc.name": "0" + long})) == []
    assert index.matching(make_alert(output_fields={"proc.name": int(long)})) == []


def test_the_remaining_conditions_of_a_found_response_still_apply() -> None:
    config = [({"rule": "R", "fields": {"proc.name": "sh", "fd.name": {"glob": "/etc/*"},
                                        "user.uid": {"not_in": [0]}}}, False),
              ({"fields": {"proc.name": "sh", "fd.name": {"prefix": "/etc/"}}}, False),
              ({"fields": {"proc.name": "sh"}}, False)]
    index = index_of(config)
    fields: dict[str, Any] = {"proc.name": "sh", "fd.name": "/etc/shadow", "user.uid": 1000}
    assert index.matching(make_alert(rule="R", output_fields=fields)) == [0, 1, 2]
    assert index.matching(make_alert(rule="R", output_fields={**fields, "user.uid": "0"})) == [1, 2]
    assert index.matching(make_alert(rule="R", output_fields={**fields, "fd.name": None})) == [2]
    assert index.matching(make_alert(rule="R", output_fields={"proc.name": "sh"})) == [2]
    for alert in RULES:
        assert index.matching(make_alert(rule=alert, output_fields=fields)) == [1, 2]


def test_the_first_lookup_reads_the_dotted_spelling_and_misses_keep_the_rest() -> None:
    config = [({"fields": {"proc.aname[2]": ["bash", "sh", "zsh"]}}, False),
              ({"rule": "R", "fields": {"proc.aname[2]": "sh", "user.uid": 0}}, False),
              ({"fields": {"user.uid": "0"}}, False), ({"rule": "R"}, False)]
    index = index_of(config)
    for _ in range(2):
        assert index.matching(make_alert(rule="R", output_fields={
            "proc.aname.2": "sh", "user.uid": 0})) == [0, 1, 2, 3]
        assert index.matching(make_alert(rule="R", output_fields={
            "proc.aname[2]": "sh", "proc.aname.2": "fish", "user.uid": "00"})) == [0, 1, 2, 3]
        assert index.matching(make_alert(rule="R", output_fields={
            "proc.aname.2": "fish", "user.uid": 0})) == [2, 3]
        assert index.matching(make_alert(rule="R", output_fields={"user.uid": 0})) == [2, 3]
        assert index.matching(make_alert(rule="S", output_fields={"proc.aname.2": "zsh"})) == [0]


def test_many_candidates_stating_one_condition_run_it_once() -> None:
    config = [({"fields": {"proc.cmdline": {"regex": "curl"}, "user.uid": {"not_in": [i]}}},
               i == 15) for i in range(20)]
    index = index_of(config)
    calls: dict[Any, int] = {}
    wrappers: dict[Any, Any] = {}

    def counted(check: Any) -> Any:
        def run(fields: Any) -> bool:
            calls[check] = calls.get(check, 0) + 1
            return bool(check(fields))
        return wrappers.setdefault(check, run)  # a shared condition keeps one check

    index._checks = [tuple(counted(check) for check in checks) for checks in index._checks]
    assert len(wrappers) == 21  # one regex, twenty not_in
    alert = make_alert(output_fields={"proc.cmdline": "curl x", "user.uid": 3})
    assert index.matching(alert) == [i for i in range(16) if i != 3]
    regex = index._checks[0][0]
    assert sorted(calls.values()) == [1] * 17  # the regex once, the 16 not_in up to the stop
    assert all(checks[0] is regex for checks in index._checks)
    assert index.matching(make_alert(output_fields={"proc.cmdline": "wget", "user.uid": 3})) == []
