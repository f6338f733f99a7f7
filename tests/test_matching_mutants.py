"""Matching cases that mutation testing found undecided: every operator on text, numbers and
booleans, under a plain and a bracketed field name (which take different paths), through the
compiled match, the response index and a loaded config; responses that share a field or a
header part but not its arguments; the exact error each bad match block gives."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import msgspec
import pytest

from falco_response.alert import Alert
from falco_response.errors import ConfigError
from falco_response.match_index import ResponseIndex
from falco_response.matching import CompiledMatch, MatchError, is_glob
from falco_response.schema import MatchSpec

from .conftest import build, make_alert

class _Missing:
    def __repr__(self) -> str:  # test ids must not change between runs (mutmut reruns by id)
        return "MISSING"


MISSING = _Missing()


def compiled(match: dict[str, Any]) -> CompiledMatch:
    return CompiledMatch(msgspec.convert(match, MatchSpec))


def decide(match: dict[str, Any], alert: Alert) -> bool:
    """What the compiled match says, checked against what the index and an engine say."""
    single = compiled(match)(alert)
    assert (ResponseIndex([(compiled(match), "r")]).matching(alert) == ["r"]) is single
    engine = build({"version": 1, "responses": [
        {"name": "r", "match": match, "actions": [{"type": "log"}]}]})
    assert ([r.name for r in engine.matching(alert)] == ["r"]) is single
    return single


# (condition, field value or MISSING, expected)
OPERATORS: list[tuple[Any, Any, bool]] = [
    ("sh", "sh", True), ("sh", "bash", False), ("sh", MISSING, False), ("sh", None, False),
    (["sh", "bash"], "bash", True), (["sh", "bash"], "zsh", False),
    ({"in": ["sh"]}, MISSING, False), ({"in": ["0"]}, 0, True), ({"in": [0]}, "00", True),
    ({"in": [1000]}, "1e3", True), ({"in": ["2.50"]}, 2.5, True), ({"in": [2.5]}, "2.6", False),
    (True, True, True), (True, "true", True), (True, False, False), (True, "false", False),
    (False, False, True), (False, "false", True), (False, True, False), (False, "true", False),
    ("true", True, True), ("false", False, True), ("false", True, False),
    (False, MISSING, False), (True, 1, False), (False, 0, False),
    ({"not_in": ["sh"]}, "sh", False), ({"not_in": ["sh"]}, "bash", True),
    ({"not_in": ["sh"]}, MISSING, True), ({"not_in": ["sh"]}, None, True),
    ({"not_in": [0]}, "0", False), ({"not_in": [False]}, False, False),
    ({"not_in": [False]}, True, True),
    ({"glob": "t*"}, "tx", True), ({"glob": "t*"}, "xt", False), ({"glob": "t*"}, True, True),
    ({"glob": "t*"}, False, False), ({"glob": "f*e"}, False, True), ({"glob": "*"}, MISSING, False),
    ({"glob": "3*6"}, 34816, True), ({"glob": "3*6"}, 34817, False),
    ({"glob": ["a*", "b*"]}, "bx", True), ({"glob": ["a*", "b*"]}, "cx", False),
    ({"glob": "a*b"}, "a\nb", True), ({"glob": "a"}, "a\n", False), ({"glob": "A*"}, "ab", False),
    ({"regex": "^tr"}, True, True), ({"regex": "^fa"}, False, True), ({"regex": "^tr"}, False, False),
    ({"regex": "ue$"}, "true", True), ({"regex": "x"}, "true", False), ({"regex": ""}, MISSING, False),
    ({"regex": "^34"}, 34816, True), ({"regex": "^35"}, 34816, False),
    ({"regex": ["^x", "ue$"]}, True, True), ({"regex": ["^x", "se$"]}, False, True),
    ({"regex": ["^x", "^y"]}, "true", False), ({"regex": ["^x", ""]}, MISSING, False),
    ({"regex": ["^x", "^4"]}, 42, True), ({"regex": ["^x", "^y"]}, 42, False),
    ({"prefix": "tr"}, True, True), ({"prefix": "fal"}, False, True), ({"prefix": "tr"}, False, False),
    ({"prefix": "/etc"}, "/etc/x", True), ({"prefix": "/etc"}, "/var/etc", False),
    ({"prefix": ""}, MISSING, False), ({"prefix": "34"}, 34816, True), ({"prefix": "4"}, 34816, False),
    ({"prefix": ["/tmp", "/etc"]}, "/etc/x", True),
    ({"exists": True}, "x", True), ({"exists": True}, False, True), ({"exists": True}, MISSING, False),
    ({"exists": False}, "x", False), ({"exists": False}, 0, False), ({"exists": False}, MISSING, True),
    ({"exists": False}, None, True),
]


def _with(name: str, value: Any, spelling: str | None = None) -> Alert:
    fields = {} if value is MISSING else {spelling or name: value, "other": "x"}
    return make_alert(output_fields=fields)


@pytest.mark.parametrize("cond, value, expected", OPERATORS,
                         ids=[f"{c!r}-{v!r}" for c, v, _ in OPERATORS])
@pytest.mark.parametrize("name, spelling", [
    ("proc.name", None),                      # a plain name
    ("proc.aname[2]", None),                  # a bracketed name, spelled as Falco does
    ("proc.aname[2]", "proc.aname.2"),        # ... and as falcosidekick's SNS attributes do
])
def test_each_operator_on_each_kind_of_value(name: str, spelling: str | None, cond: Any,
                                             value: Any, expected: bool) -> None:
    assert decide({"fields": {name: cond}}, _with(name, value, spelling)) is expected


def test_a_bracketed_name_reads_the_dotted_spelling_only_when_its_own_is_absent() -> None:
    both = make_alert(output_fields={"proc.aname[2]": "sh", "proc.aname.2": "bash"})
    assert decide({"fields": {"proc.aname[2]": {"glob": "s*"}}}, both)
    assert not decide({"fields": {"proc.aname[2]": {"glob": "b*"}}}, both)
    null = make_alert(output_fields={"proc.aname[2]": None, "proc.aname.2": "bash"})
    assert decide({"fields": {"proc.aname[2]": {"prefix": "ba"}}}, null)
    assert not decide({"fields": {"proc.name": {"exists": True}}},
                      make_alert(output_fields={"proc.name.x": "sh"}))


def test_tags_all_may_name_every_tag_the_alert_has() -> None:
    alert = make_alert(tags=["container", "shell"])
    assert decide({"tags": ["container", "shell"]}, alert)
    assert decide({"tags": {"all": ["container", "shell"], "none": ["test"]}}, alert)
    assert not decide({"tags": ["container", "shell", "host"]}, alert)
    assert decide({"tags": {"any": ["shell", "x"]}}, alert)
    assert not decide({"tags": {"any": ["x"], "none": ["y"]}}, alert)
    assert not decide({"tags": {"all": ["container"], "none": ["shell"]}}, alert)


# Responses that state the same operator on the same field with different arguments, or the
# same header part with different values: each must be decided by its own.
SIBLINGS: list[tuple[list[dict[str, Any]], dict[str, Any], list[int]]] = [
    ([{"fields": {"f": {"not_in": ["a"]}}}, {"fields": {"f": {"not_in": ["b"]}}}],
     {"output_fields": {"f": "a"}}, [1]),
    ([{"fields": {"f": {"glob": "a*"}}}, {"fields": {"f": {"glob": "b*"}}}],
     {"output_fields": {"f": "bx"}}, [1]),
    ([{"fields": {"f": {"regex": "^a"}}}, {"fields": {"f": {"regex": "^b"}}}],
     {"output_fields": {"f": "bx"}}, [1]),
    ([{"fields": {"f": {"regex": ["^a", "^c"]}}}, {"fields": {"f": {"regex": ["^b", "^c"]}}}],
     {"output_fields": {"f": "bx"}}, [1]),
    ([{"fields": {"f": {"prefix": "a"}}}, {"fields": {"f": {"prefix": "b"}}}],
     {"output_fields": {"f": "bx"}}, [1]),
    ([{"fields": {"f": {"exists": True}}}, {"fields": {"f": {"exists": False}}}],
     {"output_fields": {}}, [1]),
    ([{"fields": {"f[1]": {"glob": "a*"}}}, {"fields": {"f[1]": {"glob": "b*"}}}],
     {"output_fields": {"f.1": "bx"}}, [1]),
    # four equals conditions: one of them is checked rather than looked up
    ([{"fields": {"a": 1, "b": 1, "c": 1, "d": "x"}}, {"fields": {"a": 2, "b": 2, "c": 2, "d": "y"}}],
     {"output_fields": {"a": 2, "b": 2, "c": 2, "d": "y"}}, [1]),
    ([{"fields": {"a": 1, "b": 1, "c": 1, "d": "x"}}, {"fields": {"a": 2, "b": 2, "c": 2, "d": "y"}}],
     {"output_fields": {"a": 2, "b": 2, "c": 2, "d": "x"}}, []),
    ([{"rule": "A*"}, {"rule": "B*"}], {"rule": "Bx"}, [1]),
    ([{"rule": "A"}, {"rule": "B"}], {"rule": "B"}, [1]),
    ([{"rule": ["A", "B*"]}, {"rule": "B"}], {"rule": "B"}, [0, 1]),
    ([{"priority": "error"}, {"priority": "critical"}], {"priority": "Critical"}, [1]),
    ([{"priority": ["error", "critical"]}, {"priority": ["notice"]}], {"priority": "Notice"}, [1]),
    ([{"source": "k8s_audit"}, {"source": "syscall"}], {"source": "syscall"}, [1]),
    ([{"tags": ["host"]}, {"tags": ["shell"]}], {"tags": ["shell"]}, [1]),
    ([{"tags": {"none": ["shell"]}}, {"tags": {"none": ["host"]}}], {"tags": ["shell"]}, [1]),
    ([{"tags": {"any": ["host"]}}, {"tags": {"any": ["shell"]}}], {"tags": ["shell"]}, [1]),
]


@pytest.mark.parametrize("matches, alert, found", SIBLINGS)
def test_responses_sharing_a_field_or_header_part_are_each_decided_by_their_own_values(
        matches: list[dict[str, Any]], alert: dict[str, Any], found: list[int]) -> None:
    event = make_alert(**alert)
    index = ResponseIndex([(compiled(m), i) for i, m in enumerate(matches)])
    for _ in range(2):  # the second time from what the index remembered about the first
        assert index.matching(event) == found
    assert [i for i, m in enumerate(matches) if compiled(m)(event)] == found
    engine = build({"version": 1, "responses": [
        {"name": f"r{i}", "match": m, "actions": [{"type": "log"}]}
        for i, m in enumerate(matches)]})
    assert [r.name for r in engine.matching(event)] == [f"r{i}" for i in found]


class Reads(Mapping[str, Any]):
    """Output fields that remember which names were read."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields, self.read = fields, set()

    def __getitem__(self, name: str) -> Any:
        self.read.add(name)
        return self.fields[name]

    def get(self, name: str, default: Any = None) -> Any:
        self.read.add(name)
        return self.fields.get(name, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)


def test_an_alert_is_not_checked_against_responses_whose_equals_values_it_lacks() -> None:
    """The index looks the alert's value up: the other conditions of a response that wants
    another value are never evaluated (for a plain and for a bracketed name)."""
    for name in ("proc.name", "proc.aname[1]"):
        index = ResponseIndex([(compiled({"fields": {"fd.name": {"glob": "/etc/*"},
                                                    name: "sh"}}), "r")])
        fields = Reads({name: "bash", "fd.name": "/etc/shadow"})
        event = msgspec.structs.replace(make_alert(), output_fields=fields)
        assert index.matching(event) == []
        assert "fd.name" not in fields.read
        hit = Reads({name: "sh", "fd.name": "/etc/shadow"})
        assert index.matching(msgspec.structs.replace(make_alert(), output_fields=hit)) == ["r"]
        assert "fd.name" in hit.read


def test_a_match_says_whether_it_names_only_exact_rules() -> None:
    """What the index files a response under: its exact rule names, else every alert."""
    assert compiled({"rule": "A"}).exact_rules == {"A"}
    assert compiled({"rule": ["A", "B"]}).exact_rules == {"A", "B"}
    assert compiled({"rule": ["A", "B*"]}).exact_rules is None
    assert compiled({}).exact_rules is None
    assert compiled({"priority": "error"}).exact_rules is None


def test_glob_characters() -> None:
    assert [is_glob(p) for p in ("abc", "a*", "a?", "a[b]", "a]", "", "x.y")] == [
        False, True, True, True, False, False, False]


@pytest.mark.parametrize("match, path, reason", [
    ({"rule": []}, "rule", "an empty list matches no alert"),
    ({"priority": "!=error"}, "priority",
     "'!=error' is not a priority or a comparison like '>=warning'"),
    ({"priority": ">=severe"}, "priority", "unknown priority 'severe'; expected one of "
     "Emergency, Alert, Critical, Error, Warning, Notice, Informational, Debug"),
    ({"fields": {"fd.name": {"regex": "("}}}, "fields.fd.name.regex",
     "bad regex '(': missing ), unterminated subpattern at position 0"),
    ({"fields": {"fd.name": {"regex": ["ok", "[b"]}}}, "fields.fd.name.regex[1]",
     "bad regex '[b': unterminated character set at position 0"),
])
def test_a_bad_match_block_names_the_part_and_the_reason(match: dict[str, Any], path: str,
                                                         reason: str) -> None:
    with pytest.raises(MatchError) as info:
        compiled(match)
    assert (info.value.path, str(info.value)) == (path, reason)
    with pytest.raises(ConfigError) as loading:
        build({"version": 1, "responses": [{"name": "r", "match": match,
                                            "actions": [{"type": "log"}]}]})
    assert f"responses[0].match.{path}: {reason}" in str(loading.value)
