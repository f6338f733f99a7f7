"""Matching, rule by rule of DESIGN.md, as tables: (match block, alert overrides, expected)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from falco_response.match_index import ResponseIndex
from falco_response.matching import CompiledMatch, MatchError
from falco_response.schema import MatchSpec

from .conftest import build, make_alert

FIELDS = {"proc.name": "sh", "user.uid": 0, "k8s.ns.name": "payments", "fd.name": "/etc/shadow",
          "proc.tty": 34816, "container.privileged": True, "k8s.pod.name": None,
          "proc.aname[2]": "containerd-shim"}


def matches(match: dict[str, Any], **alert: Any) -> bool:
    alert.setdefault("output_fields", FIELDS)
    spec = msgspec.convert(match, MatchSpec)
    return CompiledMatch(spec)(make_alert(**alert))


def case(match: dict[str, Any], expected: bool, **alert: Any) -> tuple[Any, ...]:
    return (match, alert, expected)


TABLES: dict[str, list[tuple[Any, ...]]] = {
    "empty match matches everything": [
        case({}, True), case({}, True, priority="Debug", source="k8s_audit", tags=[]),
    ],
    "rule: exact names, OR": [
        case({"rule": "Terminal shell in container"}, True),
        case({"rule": "terminal shell in container"}, False),
        case({"rule": ["Other", "Terminal shell in container"]}, True),
        case({"rule": ["Other", "Another"]}, False),
        case({"rule": "Terminal shell"}, False),
    ],
    "rule: globs are shell-style, case-sensitive, whole-string": [
        case({"rule": "Terminal shell *"}, True),
        case({"rule": "terminal shell *"}, False),
        case({"rule": "*shell*"}, True),
        case({"rule": "Terminal shell in containe?"}, True),
        case({"rule": "Terminal shell in containe[rR]"}, True),
        case({"rule": "Terminal shell in containe[!r]"}, False),
        case({"rule": "Terminal"}, False),
        case({"rule": ["Nope *", "Terminal*"]}, True),
        case({"rule": "Custom [rule]"}, True, rule="Custom [rule]"),
        case({"rule": "Custom [rule]"}, True, rule="Custom r"),
    ],
    "priority: a name is exact": [
        case({"priority": "critical"}, True), case({"priority": "Critical"}, True),
        case({"priority": "error"}, False),
        case({"priority": "info"}, True, priority="Informational"),
    ],
    "priority: a list of names": [
        case({"priority": ["error", "critical"]}, True), case({"priority": ["error"]}, False),
    ],
    "priority: comparisons by severity": [
        case({"priority": ">=warning"}, True), case({"priority": ">=critical"}, True),
        case({"priority": ">=alert"}, False), case({"priority": ">critical"}, False),
        case({"priority": ">error"}, True), case({"priority": "<critical"}, False),
        case({"priority": "<=critical"}, True), case({"priority": "=critical"}, True),
        case({"priority": "< emergency"}, True), case({"priority": ">= WARNING"}, True),
        case({"priority": ">=notice"}, False, priority="Debug"),
    ],
    "source: string or list; syscalls means syscall": [
        case({"source": "syscall"}, True), case({"source": "k8s_audit"}, False),
        case({"source": ["k8s_audit", "syscall"]}, True), case({"source": "syscalls"}, True),
        case({"source": "syscall"}, True, source=None),
    ],
    "tags: plain list means all; all / any / none": [
        case({"tags": ["container", "shell"]}, True),
        case({"tags": ["container", "network"]}, False),
        case({"tags": {"all": ["container"], "any": ["network", "shell"]}}, True),
        case({"tags": {"any": ["network", "T1059"]}}, False),
        case({"tags": {"none": ["test"]}}, True),
        case({"tags": {"none": ["shell"]}}, False),
        case({"tags": {"none": ["test"]}}, True, tags=None),
        case({"tags": {"all": ["container"]}}, False, tags=None),
    ],
    "fields: scalar equals, list is in": [
        case({"fields": {"proc.name": "sh"}}, True),
        case({"fields": {"proc.name": "bash"}}, False),
        case({"fields": {"proc.name": ["bash", "sh"]}}, True),
        case({"fields": {"proc.name": {"in": ["bash", "zsh"]}}}, False),
        case({"fields": {"proc.aname[2]": "containerd-shim"}}, True),
    ],
    "fields: numbers by value whatever their spelling": [
        case({"fields": {"user.uid": 0}}, True),
        case({"fields": {"user.uid": "0"}}, True),
        case({"fields": {"user.uid": 0}}, True, output_fields={"user.uid": "0"}),
        case({"fields": {"user.uid": 0.0}}, True),
        case({"fields": {"user.uid": "00"}}, True),
        case({"fields": {"user.uid": 1}}, False),
        case({"fields": {"proc.tty": {"in": ["34816"]}}}, True),
        case({"fields": {"proc.tty": {"not_in": [34816]}}}, False),
        case({"fields": {"evt.time": 1685022245478445995}}, False,
             output_fields={"evt.time": 1685022245478445996}),
        case({"fields": {"container.privileged": True}}, True),
        case({"fields": {"container.privileged": "true"}}, True),
    ],
    "fields: glob, regex (searched), prefix": [
        case({"fields": {"fd.name": {"glob": "/etc/*"}}}, True),
        case({"fields": {"fd.name": {"glob": "/ETC/*"}}}, False),
        case({"fields": {"fd.name": {"glob": "shadow"}}}, False),
        case({"fields": {"fd.name": {"regex": "shad"}}}, True),
        case({"fields": {"fd.name": {"regex": "^shad"}}}, False),
        case({"fields": {"fd.name": {"regex": ["^/tmp", "shadow$"]}}}, True),
        case({"fields": {"fd.name": {"prefix": "/etc/"}}}, True),
        case({"fields": {"fd.name": {"prefix": ["/tmp", "/var"]}}}, False),
        case({"fields": {"proc.tty": {"prefix": "348"}}}, True),
        case({"fields": {"proc.tty": {"glob": "3*6"}}}, True),
    ],
    "fields: missing fails in/equals/glob/regex/prefix/exists:true": [
        case({"fields": {"nope": "x"}}, False),
        case({"fields": {"nope": {"in": ["x"]}}}, False),
        case({"fields": {"nope": {"glob": "*"}}}, False),
        case({"fields": {"nope": {"regex": ""}}}, False),
        case({"fields": {"nope": {"prefix": ""}}}, False),
        case({"fields": {"nope": {"exists": True}}}, False),
        case({"fields": {"proc.name": {"exists": True}}}, True),
    ],
    "fields: missing satisfies not_in and exists:false": [
        case({"fields": {"nope": {"not_in": ["x"]}}}, True),
        case({"fields": {"nope": {"exists": False}}}, True),
        case({"fields": {"proc.name": {"exists": False}}}, False),
        case({"fields": {"k8s.ns.name": {"not_in": ["dev"]}}}, True),
        case({"fields": {"k8s.ns.name": {"not_in": ["payments"]}}}, False),
    ],
    "fields: null counts as missing": [
        case({"fields": {"k8s.pod.name": {"exists": True}}}, False),
        case({"fields": {"k8s.pod.name": {"exists": False}}}, True),
        case({"fields": {"k8s.pod.name": {"not_in": ["x"]}}}, True),
        case({"fields": {"k8s.pod.name": {"glob": "*"}}}, False),
    ],
    "fields: AND across keys and across operators of one key": [
        case({"fields": {"proc.name": "sh", "user.uid": 0}}, True),
        case({"fields": {"proc.name": "sh", "user.uid": 1}}, False),
        case({"fields": {"fd.name": {"prefix": "/etc", "glob": "*shadow"}}}, True),
        case({"fields": {"fd.name": {"prefix": "/etc", "glob": "*passwd"}}}, False),
    ],
    "all parts of a match are ANDed": [
        case({"rule": "Terminal*", "priority": ">=warning", "source": "syscall",
              "tags": ["shell"], "fields": {"proc.name": "sh"}}, True),
        case({"rule": "Terminal*", "priority": ">=warning", "source": "k8s_audit"}, False),
    ],
}

ROWS = [(title, *row) for title, rows in TABLES.items() for row in rows]


@pytest.mark.parametrize("title, match, alert, expected", ROWS,
                         ids=[f"{r[0]}-{i}" for i, r in enumerate(ROWS)])
def test_match_table(title: str, match: dict[str, Any], alert: dict[str, Any],
                     expected: bool) -> None:
    assert matches(match, **alert) is expected


@pytest.mark.parametrize("match, path", [
    ({"rule": []}, "rule"),
    ({"priority": ">=severe"}, "priority"),
    ({"priority": "!=error"}, "priority"),
    ({"fields": {"fd.name": {"regex": "("}}}, "fields.fd.name.regex"),
    ({"fields": {"fd.name": {"regex": ["ok", "[bad"]}}}, "fields.fd.name.regex[1]"),
])
def test_bad_match_blocks_name_the_part(match: dict[str, Any], path: str) -> None:
    with pytest.raises(MatchError) as info:
        CompiledMatch(msgspec.convert(match, MatchSpec))
    assert info.value.path == path


def _responses(n: int, **extra: Any) -> list[dict[str, Any]]:
    return [{"name": f"r{i}", "match": {"rule": f"Rule {i}"}, "actions": [{"type": "log"}],
             **extra} for i in range(n)]


def test_every_matching_response_runs_in_file_order() -> None:
    config = {"version": 1, "responses": [
        {"name": "first", "match": {"priority": ">=error"}, "actions": [{"type": "log"}]},
        {"name": "second", "match": {"rule": "Terminal shell in container"},
         "actions": [{"type": "log"}]},
        {"name": "not-me", "match": {"rule": "Other"}, "actions": [{"type": "log"}]},
        {"name": "third", "match": {}, "actions": [{"type": "log"}]},
    ]}
    engine = build(config)
    assert [r.name for r in engine.matching(make_alert())] == ["first", "second", "third"]


def test_stop_ends_evaluation_at_the_first_stopping_match() -> None:
    config = {"version": 1, "responses": [
        {"name": "a", "match": {"rule": "Other"}, "actions": [{"type": "log"}], "stop": True},
        {"name": "b", "match": {"priority": "critical"}, "actions": [{"type": "log"}], "stop": True},
        {"name": "c", "match": {}, "actions": [{"type": "log"}]},
    ]}
    engine = build(config)
    assert [r.name for r in engine.matching(make_alert())] == ["b"]
    assert [r.name for r in engine.matching(make_alert(priority="Error"))] == ["c"]


def test_index_finds_exact_rules_and_keeps_file_order_with_scanned_ones() -> None:
    config = {"version": 1, "responses": [
        *_responses(500),
        {"name": "glob", "match": {"rule": "Rule 1*"}, "actions": [{"type": "log"}]},
        *[{**r, "name": f"late-{r['name']}"} for r in _responses(20)],
    ]}
    engine = build(config)
    names = [r.name for r in engine.matching(make_alert(rule="Rule 12"))]
    assert names == ["r12", "glob", "late-r12"]
    assert [r.name for r in engine.matching(make_alert(rule="Rule 499"))] == ["r499"]
    assert engine.matching(make_alert(rule="Unknown")) == []


def test_index_only_evaluates_candidates() -> None:
    index = ResponseIndex([(CompiledMatch(MatchSpec(rule=f"Rule {i}")), i) for i in range(1000)])
    assert index.matching(make_alert(rule="Rule 7")) == [7]
    assert index.matching(make_alert(rule="Rule 7")) == [7]
