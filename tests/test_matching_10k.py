"""Matching and loading at 10,000 responses: each alert key remembers which of the index's
tables can still add a response (a pruned plan), and a large config without YAML anchors
loads however many values it writes out, under the same nesting and alias limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from falco_response import Engine
from falco_response.config import MAX_YAML_DEPTH, MAX_YAML_VALUES
from falco_response.errors import ConfigError
from falco_response.match_index import ResponseIndex
from falco_response.matching import CompiledMatch
from falco_response.schema import MatchSpec

from .conftest import make_alert


def index_of(matches: list[dict[str, Any]]) -> ResponseIndex[int]:
    return ResponseIndex([(CompiledMatch(msgspec.convert(m, MatchSpec)), i)
                          for i, m in enumerate(matches)])


def test_a_table_pruned_for_one_alert_key_is_still_looked_up_for_another() -> None:
    index = index_of([
        {"priority": "critical", "fields": {"k8s.ns.name": "prod", "proc.name": "sh"}},
        {"rule": "R", "priority": ">=error", "fields": {"k8s.ns.name": ["prod", "dev"]}},
    ])
    fields = {"k8s.ns.name": "prod", "proc.name": "sh"}
    low = make_alert(rule="R", priority="Notice", output_fields=fields)
    high = make_alert(rule="R", priority="Critical", output_fields=fields)
    error = make_alert(rule="R", priority="Error", output_fields=fields)
    other = make_alert(rule="S", priority="Critical", output_fields=fields)
    for _ in range(2):  # the second round answers from each key's remembered plan
        assert index.matching(low) == []
        assert index.matching(high) == [0, 1]
        assert index.matching(error) == [1]
        assert index.matching(other) == [0]
        assert index.matching(make_alert(rule="R", priority="Critical",
                                          output_fields={"k8s.ns.name": "dev"})) == [1]


def test_a_plan_keeps_file_order_across_the_rule_and_the_rest() -> None:
    index = index_of([{"fields": {"proc.name": "sh"}}, {"rule": "R"},
                      {"rule": "R*", "fields": {"proc.name": ["sh", "bash"]}}, {}])
    alert = make_alert(rule="R", output_fields={"proc.name": "sh"})
    assert index.matching(alert) == [0, 1, 2, 3]
    assert index.matching(alert) == [0, 1, 2, 3]


def _big_config(responses: int, values: int) -> dict[str, Any]:
    return {"version": 1, "responses": [
        {"name": f"r{i}", "match": {"fields": {"proc.name": [f"p{i}-{j}" for j in range(values)]}},
         "actions": [{"type": "log"}]} for i in range(responses)]}


def test_a_config_writing_out_more_values_than_the_alias_limit_loads(tmp_path: Path) -> None:
    config = _big_config(MAX_YAML_VALUES // 1000 + 10, 1000)  # > MAX_YAML_VALUES scalars
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(config))
    engine = Engine.from_config(path, entry_points=False)
    assert len(engine.config.responses) == len(config["responses"])
    (hit,) = engine.handle(b'{"rule": "x", "priority": "Notice", "time": '
                           b'"2026-12-01T20:00:00Z", "output_fields": {"proc.name": "p7-999"}}')
    assert [o.response for o in hit.outcomes] == ["r7"]


def test_an_anchor_in_a_big_config_is_still_checked_and_harmless_aliases_load(
        tmp_path: Path) -> None:
    text = yaml.safe_dump(_big_config(MAX_YAML_VALUES // 1000 + 10, 1000))
    text += "settings: {}\nactions:\n  a: &note {type: log}\n  b: *note\n"
    path = tmp_path / "big.yaml"
    path.write_text(text)
    assert len(Engine.from_config(path, entry_points=False).config.responses) > 250


@pytest.mark.parametrize("anchor", ["", "&deep "])
def test_nesting_is_refused_with_or_without_anchors(tmp_path: Path, anchor: str) -> None:
    deep = MAX_YAML_DEPTH + 3
    path = tmp_path / "deep.yaml"
    path.write_text("version: 1\nx: " + anchor + "[" * deep + "]" * deep + "\n")
    with pytest.raises(ConfigError) as info:
        Engine.from_config(path, entry_points=False)
    assert info.value.problems[0].reason == \
        f"not loaded: nested deeper than {MAX_YAML_DEPTH} levels"


def test_exactly_the_depth_limit_loads_without_anchors(tmp_path: Path) -> None:
    # the document is one level, ``x`` another: the list brackets make the rest
    inner = MAX_YAML_DEPTH - 2
    path = tmp_path / "deep.yaml"
    path.write_text("version: 1\nsettings: {}\n" + "x: " + "[" * inner + "]" * inner + "\n")
    with pytest.raises(ConfigError) as info:  # ``x`` is not a config key: it got that far
        Engine.from_config(path, entry_points=False)
    assert "nested deeper" not in info.value.problems[0].reason


@pytest.mark.parametrize("text", [
    "version: 1\nresponses:\n- {name: r, match: {rule: [a, b]}, actions: [{type: log}]}\n",
    "a: 1\nb: 0x1f\nc: 1_000\nd: 1.5e3\ne: .inf\nf: true\ng: ~\nh: null\ni: 'x: y'\nj: \"\\u00e9\"\n",
    "when: 2026-12-01\nat: 2026-12-01T20:00:00Z\nbin: !!binary aGVsbG8=\nset: !!set {a, b}\n",
    "base: {<<: {x: 1, y: 2}, y: 3}\nlist: [1, [2, [3, {k: v}]], '', !!str 5]\n",
    "? [a, b]\n: complex\n",
    "1: one\n2.5: half\ntrue: yes\nnull: nothing\ndup: 1\ndup: 2\n",
    "- a\n- - b\n  - {c: d}\n- !!omap [{x: 1}, {y: 2}]\n",
    "",
    "just text\n",
])
def test_the_direct_construction_builds_what_the_yaml_loader_builds(text: str) -> None:
    from falco_response.config import _load_yaml
    try:
        wanted = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        with pytest.raises(type(exc)):
            _load_yaml(text)
        return
    got = _load_yaml(text)
    assert got == wanted and type(got) is type(wanted)
    assert repr(got) == repr(wanted)  # the same types all the way down, in the same order


@pytest.mark.parametrize("wrap", ["{<<: {k: %s}}", "!!set {? %s}", "[{<<: {k: %s}}]"])
def test_nesting_under_what_the_loader_builds_itself_is_refused(tmp_path: Path,
                                                                 wrap: str) -> None:
    deep = MAX_YAML_DEPTH + 3
    path = tmp_path / "deep.yaml"
    path.write_text("version: 1\nx: " + wrap % ("[" * deep + "]" * deep) + "\n")
    with pytest.raises(ConfigError) as info:
        Engine.from_config(path, entry_points=False)
    assert info.value.problems[0].reason == \
        f"not loaded: nested deeper than {MAX_YAML_DEPTH} levels"
