"""Property-based tests: parsers never raise anything but ParseError, and the matcher agrees
with a straightforward reference implementation of DESIGN.md's rules."""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from falco_response import ParseError, Priority
from falco_response.alert import Alert
from falco_response.matching import CompiledMatch
from falco_response.parsing import alert_from_dict, parse_message
from falco_response.schema import MatchSpec

from .conftest import build

ENGINE = build({"version": 1, "responses": [{"name": "all", "actions": [{"type": "log"}]}]},
               dry_run=True)
PRIORITY_NAMES = ["Emergency", "Alert", "Critical", "Error", "Warning", "Notice",
                  "Informational", "Debug", "info", "CRITICAL", "warning"]

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(json_scalars, lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.text(max_size=8), children, max_size=4),
                           max_leaves=12)
field_values = st.none() | st.booleans() | st.integers(-10**20, 10**20) | \
    st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12) | \
    st.sampled_from(["0", "00", "1", "-1", "sh", "bash", "/etc/shadow", "1e3", "true"])
FIELD_NAMES = ["proc.name", "user.uid", "fd.name", "k8s.ns.name", "proc.aname[2]",
               "ka.uri.param[command]"]
# falcosidekick's SNS attributes spell bracketed names with dots: alerts may carry either.
ALERT_FIELD_NAMES = FIELD_NAMES + ["proc.aname.2", "ka.uri.param.command"]
RULES = ["Terminal shell in container", "Read sensitive file untrusted", "Write below etc",
         "Run shell untrusted", "Custom [rule]"]
TAGS = ["container", "shell", "mitre_execution", "test", "host"]

alert_like = st.fixed_dictionaries(
    {},
    optional={
        "rule": st.sampled_from(RULES) | st.text(max_size=10) | json_values,
        "priority": st.sampled_from(PRIORITY_NAMES) | json_values,
        "time": st.sampled_from(["2026-11-26T20:00:00.123456789Z", "2026-11-26T20:00:00Z",
                                 "2026-11-26T22:00:00+02:00", "2026-13-45T99:00:00Z",
                                 "yesterday"]) | json_values,
        "output": st.text(max_size=20) | json_values,
        "output_fields": st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=6),
                                         field_values, max_size=5) | json_values,
        "source": st.sampled_from(["syscall", "syscalls", "k8s_audit"]) | json_values,
        "tags": st.lists(st.sampled_from(TAGS), max_size=4) | json_values,
        "hostname": st.text(max_size=10) | json_values,
        "uuid": st.text(max_size=10) | json_values,
    })

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(alert_like)
def test_alert_shaped_dicts_give_an_alert_or_a_parse_error(data: dict[str, Any]) -> None:
    try:
        alert = alert_from_dict(data)
    except ParseError as exc:
        assert str(exc)
        (result,) = ENGINE.handle(data)
        assert result.alert is None and result.error
        return
    assert isinstance(alert, Alert) and alert.rule.strip()
    assert alert.source != "syscalls"
    for value in alert.output_fields.values():
        assert value is None or isinstance(value, (str, int, float, bool))


@FAST
@given(json_values)
def test_any_json_gives_results_not_exceptions(value: Any) -> None:
    for payload in (value, json.dumps(value), json.dumps(value).encode()):
        results = ENGINE.handle(payload)
        assert results
        assert all((r.alert is None) == bool(r.error) for r in results)


@FAST
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_any_bytes_or_text_gives_results_not_exceptions(payload: bytes | str) -> None:
    for result in ENGINE.handle(payload):
        assert result.alert is not None or result.error
    try:
        parse_message(payload)
    except ParseError:
        pass


# -- the matcher against a reference implementation ---------------------------------------

def _num(v: Any) -> Any:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        if re.fullmatch(r"-?\d+", v):
            return int(v)
        if re.fullmatch(r"-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?", v):
            return float(v)
    return None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return _text(a) == _text(b)
    na, nb = _num(a), _num(b)
    if na is not None and nb is not None:
        return bool(na == nb)
    if na is not None or nb is not None:
        return False
    return str(a) == str(b)


def _text(v: Any) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def _listify(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def reference(match: dict[str, Any], alert: Alert) -> bool:
    """DESIGN.md's matching rules, written as plainly as possible."""
    if "rule" in match:
        if not any(alert.rule == r or (any(c in r for c in "*?[")
                                       and fnmatch.fnmatchcase(alert.rule, r))
                   for r in _listify(match["rule"])):
            return False
    if "priority" in match:
        spec = match["priority"]
        if isinstance(spec, list):
            if alert.priority not in {Priority.parse(p) for p in spec}:
                return False
        else:
            m = re.fullmatch(r"\s*(<=|>=|<|>|=)?\s*([A-Za-z]+)\s*", spec)
            assert m
            op, level = m.group(1) or "=", Priority.parse(m.group(2))
            ok = {"<": alert.priority < level, "<=": alert.priority <= level,
                  "=": alert.priority == level, ">=": alert.priority >= level,
                  ">": alert.priority > level}[op]
            if not ok:
                return False
    if "source" in match:
        if alert.source not in {"syscall" if s == "syscalls" else s
                                for s in _listify(match["source"])}:
            return False
    if "tags" in match:
        tags = match["tags"] if isinstance(match["tags"], dict) else {"all": match["tags"]}
        if not all(t in alert.tags for t in tags.get("all", [])):
            return False
        if tags.get("any") and not any(t in alert.tags for t in tags["any"]):
            return False
        if any(t in alert.tags for t in tags.get("none", [])):
            return False
    for name, cond in match.get("fields", {}).items():
        value = alert.output_fields.get(name)
        if value is None and "[" in name:
            value = alert.output_fields.get(re.sub(r"\[([^]]*)\]", r".\1", name))
        ops = cond if isinstance(cond, dict) else {"in": _listify(cond)}
        for op, arg in ops.items():
            if op == "in":
                ok = value is not None and any(_same(value, a) for a in arg)
            elif op == "not_in":
                ok = value is None or not any(_same(value, a) for a in arg)
            elif op == "glob":
                ok = value is not None and any(fnmatch.fnmatchcase(_text(value), g)
                                               for g in _listify(arg))
            elif op == "regex":
                ok = value is not None and any(re.search(r, _text(value)) for r in _listify(arg))
            elif op == "prefix":
                ok = value is not None and any(_text(value).startswith(p) for p in _listify(arg))
            else:
                ok = (value is not None) == arg
            if not ok:
                return False
    return True


rule_patterns = st.sampled_from(RULES + ["*shell*", "Read sensitive file *", "Write below ???",
                                         "Custom [[]rule]", "*"])
priority_specs = st.sampled_from(PRIORITY_NAMES) | st.lists(
    st.sampled_from(PRIORITY_NAMES), min_size=1, max_size=3) | st.builds(
    lambda op, name: f"{op}{name}", st.sampled_from(["<", "<=", "=", ">=", ">"]),
    st.sampled_from(PRIORITY_NAMES))
scalar_conditions = st.sampled_from([0, "0", 1, "sh", "bash", True, "true", "/etc/shadow", 1.0])
field_ops = st.fixed_dictionaries({}, optional={
    "in": st.lists(scalar_conditions, min_size=1, max_size=3),
    "not_in": st.lists(scalar_conditions, min_size=1, max_size=3),
    "glob": st.sampled_from(["*", "/etc/*", "s?", "[bs]*", "*sh"]),
    "regex": st.sampled_from(["sh", "^/etc", "^0$", "\\d+", "a|b"]),
    "prefix": st.sampled_from(["/", "s", "0", "-"]) | st.lists(st.sampled_from(["/", "b"]),
                                                                 min_size=1, max_size=2),
    "exists": st.booleans(),
})
matches = st.fixed_dictionaries({}, optional={
    "rule": rule_patterns | st.lists(rule_patterns, min_size=1, max_size=3),
    "priority": priority_specs,
    "source": st.sampled_from(["syscall", "k8s_audit", "syscalls"]) | st.lists(
        st.sampled_from(["syscall", "k8s_audit"]), min_size=1, max_size=2),
    "tags": st.lists(st.sampled_from(TAGS), max_size=2) | st.fixed_dictionaries(
        {}, optional={k: st.lists(st.sampled_from(TAGS), max_size=2)
                      for k in ("all", "any", "none")}),
    "fields": st.dictionaries(st.sampled_from(FIELD_NAMES),
                              scalar_conditions | st.lists(scalar_conditions, min_size=1,
                                                           max_size=3) | field_ops, max_size=3),
})


def _sns_spelling(fields: dict[str, Any]) -> dict[str, Any]:
    """What falcosidekick's SNS attribute mode does to bracketed names."""
    return {re.sub(r"\[([^]]*)\]", r".\1", k): v for k, v in fields.items()}


alerts = st.builds(
    lambda rule, prio, source, tags, fields, sns: alert_from_dict({
        "rule": rule, "priority": prio, "time": "2026-11-26T20:00:00Z", "source": source,
        "tags": tags, "output_fields": _sns_spelling(fields) if sns else fields}),
    st.sampled_from(RULES), st.sampled_from(PRIORITY_NAMES[:8]),
    st.sampled_from(["syscall", "k8s_audit"]), st.lists(st.sampled_from(TAGS), max_size=4),
    st.dictionaries(st.sampled_from(ALERT_FIELD_NAMES), field_values, max_size=6),
    st.booleans())


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(matches, alerts)
def test_matcher_agrees_with_the_reference(match: dict[str, Any], alert: Alert) -> None:
    compiled = CompiledMatch(msgspec.convert(match, MatchSpec))
    expected = reference(match, alert)
    assert compiled(alert) is expected
    assert compiled(alert) is expected  # deterministic
