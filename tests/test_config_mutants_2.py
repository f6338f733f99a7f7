"""More of config.py's behaviour that mutation testing found untested (``tox -e mutation --
config``): which reader a config file gets (JSON or YAML) and what each reports."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from falco_response import ConfigError, Engine
from falco_response.actions import ActionRegistry
from falco_response.config import MAX_YAML_DEPTH, action_types_in, load_config, read_config

# ``1e1`` is the number 10 in JSON, but the string "1e1" in YAML 1.1 (PyYAML wants a dot):
# a config loaded as JSON has a 10-second action timeout, one loaded as YAML a bad duration.
JSON_ONLY = {"version": 1, "settings": {"action_timeout": "<1e1>"},
             "responses": [{"name": "r", "actions": [{"type": "log"}]}]}
JSON_TEXT = json.dumps(JSON_ONLY).replace('"<1e1>"', "1e1")


def problems_of(path: Path) -> list[tuple[str, str, str]]:
    with pytest.raises(ConfigError) as info:
        Engine.from_config(path, entry_points=False)
    return [(p.file, p.path, p.reason) for p in info.value.problems]


@pytest.mark.parametrize("name, text", [
    ("config.json", JSON_TEXT),
    ("config.yaml", JSON_TEXT),        # JSON text is read as JSON whatever the file's name
    ("config", JSON_TEXT),
    ("config.yaml", f"\n  \t{JSON_TEXT}\n"),  # after leading blank space too
    ("config.json", f"\n {JSON_TEXT}"),
])
def test_a_config_written_as_json_is_read_by_json_rules(tmp_path: Path, name: str,
                                                          text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    config = Engine.from_config(path, entry_points=False).config
    assert config.action_timeout == 10.0
    assert config.source == str(path)


def test_the_same_value_in_yaml_is_text_and_its_problem_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("version: 1\nsettings: {action_timeout: 1e1}\n"
                    "responses: [{name: r, actions: [{type: log}]}]\n")
    assert problems_of(path) == [(str(path), "settings.action_timeout",
                                  "'1e1' is not a duration (use e.g. 30s, 10m, 1h)")]


def test_a_problem_in_a_json_config_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(JSON_TEXT.replace('"log"', '"no-such-type"'))
    ((file, where, reason),) = problems_of(path)
    assert (file, where) == (str(path), "responses[0].actions[0].type")
    assert reason.startswith("unknown action type 'no-such-type' (installed: ")


def test_a_json_file_that_is_not_an_object_is_told_so_not_given_a_yaml_error(
        tmp_path: Path) -> None:
    # A DEL character is fine inside a JSON string, but YAML refuses it: a .json file is
    # judged as JSON even when it does not start with "{".
    path = tmp_path / "config.json"
    path.write_text('["a\x7fb"]')
    assert problems_of(path) == [(str(path), "", "the config must be a YAML mapping")]
    # ...while the same text in a YAML file is YAML's to judge
    path = tmp_path / "config.yaml"
    path.write_text('["a\x7fb"]')
    ((file, where, reason),) = problems_of(path)
    assert (file, where) == (str(path), "")
    assert reason.startswith("not valid YAML: unacceptable character #x007f")


def test_an_unknown_type_with_no_action_types_installed_says_none() -> None:
    config: dict[str, Any] = {"version": 1, "responses": [
        {"name": "r", "actions": [{"type": "log"}]}]}
    with pytest.raises(ConfigError) as info:
        load_config(config, ActionRegistry())
    assert [(p.path, p.reason) for p in info.value.problems] == [
        ("responses[0].actions[0].type", "unknown action type 'log' (installed: none)")]


def read_yaml(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    name, data = read_config(path)
    assert name == str(path)
    return data


def test_mappings_with_keys_other_than_text_are_built_in_full(tmp_path: Path) -> None:
    # Numbers, nulls and dates as keys, and a merge key (no anchor needed for an inline one)
    data = read_yaml(tmp_path, "a: {<<: {type: log, with: {level: info}}}\n"
                               "b: {<<: {type: log}, dry_run: true}\n"
                               "c: {1: one, null: nothing, 2.5: half, false: no}\n"
                               "d: {x: 1, 2001-01-01: [day, {x: 1}]}\n")
    assert data == {"a": {"type": "log", "with": {"level": "info"}},
                    "b": {"type": "log", "dry_run": True},
                    "c": {1: "one", None: "nothing", 2.5: "half", False: False},
                    "d": {"x": 1, date(2001, 1, 1): ["day", {"x": 1}]}}



def test_a_config_merged_in_whole_at_the_top_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("<<: {version: 1, responses: [{name: r, actions: [{type: log}]}]}\n")
    config = Engine.from_config(path, entry_points=False).config
    assert [r.name for r in config.responses] == ["r"]


def under_a_date_key(levels: int) -> str:
    """A mapping whose one key is a date (which the loader builds itself, not the fast path
    for text, number, boolean and null keys), its value ``levels - 1`` nested lists."""
    return "2001-01-01: " + "[" * (levels - 1) + "]" * (levels - 1) + "\n"


def test_nesting_under_a_date_key_to_exactly_the_depth_limit_loads(tmp_path: Path) -> None:
    value = read_yaml(tmp_path, under_a_date_key(MAX_YAML_DEPTH))[date(2001, 1, 1)]
    for _ in range(MAX_YAML_DEPTH - 2):
        (value,) = value
    assert value == []


@pytest.mark.parametrize("levels", [MAX_YAML_DEPTH + 1, MAX_YAML_DEPTH + 2, 3 * MAX_YAML_DEPTH])
def test_nesting_under_a_date_key_past_the_limit_is_refused(tmp_path: Path,
                                                              levels: int) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(under_a_date_key(levels))
    assert problems_of(path) == [(str(path), "", f"not loaded: nested deeper than "
                                                 f"{MAX_YAML_DEPTH} levels")]


def test_nesting_inside_a_merged_mapping_is_counted_too(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("a: {<<: {b: " + "[" * MAX_YAML_DEPTH + "]" * MAX_YAML_DEPTH + "}}\n")
    assert problems_of(path) == [(str(path), "", f"not loaded: nested deeper than "
                                                 f"{MAX_YAML_DEPTH} levels")]


# ``approval:`` as the loader compiles it: the approval's own rules are tested with the
# slack plugin in tests/approval; here the loader's part, with stand-in types only.
ASK = {"via": "ask", "approvers": ["U024BE7LH"], "timeout": "15m"}


def approval_registry() -> ActionRegistry:
    registry = ActionRegistry()
    register = registry.register_for("test")
    register("slack", lambda params: lambda ctx: None)
    register("zap", lambda params: lambda ctx: None, destructive=True)
    return registry


def approval_config(**where: Any) -> dict[str, Any]:
    """``ask`` (slack) and ``kill`` (zap) named; ``where`` puts approvals on ``kill``, on the
    response, on an inline zap or on ``ask`` itself."""
    kill: dict[str, Any] = {"type": "zap"}
    ask: dict[str, Any] = {"type": "slack"}
    response: dict[str, Any] = {"name": "r", "actions": ["kill"]}
    if "on_kill" in where:
        kill["approval"] = where["on_kill"]
    if "on_response" in where:
        response["approval"] = where["on_response"]
    if "inline" in where:
        response["actions"] = [{"type": "zap", "approval": where["inline"]}]
    if "on_ask" in where:
        ask["approval"] = where["on_ask"]
        response["actions"] = ["ask"]
    return {"version": 1, "actions": {"ask": ask, "kill": kill}, "responses": [response]}


def approval_problems(**where: Any) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        load_config(approval_config(**where), approval_registry())
    return [(p.path, p.reason) for p in info.value.problems]


@pytest.mark.parametrize("where", ["on_kill", "inline"])
def test_an_actions_approval_is_compiled_onto_the_bound_action(where: str) -> None:
    config = load_config(approval_config(**{where: ASK}), approval_registry())
    (action,) = config.responses[0].actions
    assert action.approval is not None
    assert (action.approval.via, action.approval.approvers, action.approval.timeout,
            action.approval.on_timeout) == ("ask", ("U024BE7LH",), 900.0, "deny")
    assert config.responses[0].approval is None and config.has_approvals
    assert config.named["kill"].approval == (action.approval if where == "on_kill" else None)


def test_a_responses_approval_is_compiled_onto_the_response() -> None:
    config = load_config(approval_config(on_response={**ASK, "timeout": "1h"}),
                         approval_registry())
    (response,) = config.responses
    assert response.approval is not None
    assert (response.approval.via, response.approval.timeout) == ("ask", 3600.0)
    assert response.actions[0].approval is None


def test_no_approval_anywhere_leaves_them_all_unset() -> None:
    config = load_config(approval_config(), approval_registry())
    assert not config.has_approvals
    assert config.named["ask"].approval is None and config.named["kill"].approval is None


@pytest.mark.parametrize("where, path", [
    ("on_kill", "actions.kill.approval"),
    ("inline", "responses[0].actions[0].approval"),
    ("on_response", "responses[0].approval"),
])
def test_a_bad_approval_names_its_path_and_reason(where: str, path: str) -> None:
    assert approval_problems(**{where: {**ASK, "approvers": ["alice"]}}) == [
        (f"{path}.approvers[0]", "'alice' is not a Slack user id like U024BE7LH")]
    assert approval_problems(**{where: {**ASK, "via": "kill"}}) == [
        (f"{path}.via", "action 'kill' is of type 'zap': via must name a slack action")]


def test_an_approval_cannot_be_posted_by_the_action_it_guards() -> None:
    assert approval_problems(on_ask=ASK) == [
        ("actions.ask.approval.via", "an approval cannot be posted by the action it guards")]


def test_the_types_a_config_names_include_its_actions_and_its_per_type_limits() -> None:
    raw = {"version": 1, "actions": {"tell": {"type": "slack"}},
           "responses": [{"name": "r", "actions": ["tell", {"type": "log"}]}],
           "settings": {"limits": {"destructive": {"max": 5, "per": "1m"},
                                   "delete-pod": {"max": 1, "per": "1m"}}}}
    assert action_types_in(raw) == {"slack", "log", "delete-pod"}


def test_a_stopping_response_ends_matching_for_the_alert() -> None:
    from .conftest import build, make_alert

    config = {"version": 1, "responses": [
        {"name": "first", "actions": [{"type": "log"}], "stop": True},
        {"name": "second", "actions": [{"type": "log"}]}]}
    assert [r.name for r in build(config).matching(make_alert())] == ["first"]


@pytest.mark.parametrize("audit, retention", [
    ({}, 30 * 86400.0), ({"retention": "7d"}, 7 * 86400.0), ({"retention": 90}, 90.0),
    ({"enabled": False}, None), ({"enabled": False, "retention": "soon"}, None),
])
def test_the_audit_retention_is_loaded_in_seconds_or_none_when_off(
        audit: dict[str, Any], retention: float | None) -> None:
    config = {"version": 1, "settings": {"audit": audit},
              "responses": [{"name": "r", "actions": [{"type": "log"}]}]}
    assert Engine.from_config(config, entry_points=False).config.audit_retention == retention


def with_an_anchor(lists: int) -> str:
    """A list holding ``lists`` nested lists, then an anchored value: what is nested comes
    first, so it is counted after the anchored value has been sized."""
    return "[" + "[" * lists + "]" * lists + ", &a 1, *a]\n"


def test_an_anchored_document_nested_to_exactly_the_depth_limit_loads(tmp_path: Path) -> None:
    value, one, again = read_yaml(tmp_path, with_an_anchor(MAX_YAML_DEPTH - 1))
    for _ in range(MAX_YAML_DEPTH - 2):
        (value,) = value
    assert (value, one, again) == ([], 1, 1)


@pytest.mark.parametrize("lists", [MAX_YAML_DEPTH, 2 * MAX_YAML_DEPTH])
def test_an_anchored_document_nested_deeper_is_refused(tmp_path: Path, lists: int) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(with_an_anchor(lists))
    assert problems_of(path) == [(str(path), "", f"not loaded: nested deeper than "
                                                 f"{MAX_YAML_DEPTH} levels")]


def test_without_libyaml_deep_block_nesting_is_refused_not_a_crash(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # PyYAML built without libyaml has only its pure-Python loader, which recurses while it
    # composes: block nesting (no brackets to count first) runs out of stack before the
    # depth check sees it.
    monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    path = tmp_path / "config.yaml"
    path.write_text("- " * 5000 + "x\n")
    assert problems_of(path) == [(str(path), "", f"not loaded: nested deeper than "
                                                 f"{MAX_YAML_DEPTH} levels")]
    path.write_text("version: 1\nresponses: [{name: r, actions: [{type: log}]}]\n")
    assert [r.name for r in Engine.from_config(path, entry_points=False).config.responses] \
        == ["r"]


def test_closing_brackets_in_text_do_not_count_as_nesting(tmp_path: Path) -> None:
    # Over 1,000 opening brackets makes the loader count flow nesting before parsing; the
    # closing brackets of a quoted string, with none open, are not nesting.
    many = 1001
    data = read_yaml(tmp_path, f"a: '{']' * many}'\nb: [{', '.join(['[]'] * many)}]\n")
    assert data == {"a": "]" * many, "b": [[]] * many}


def test_flow_nesting_past_the_scan_limit_is_refused_even_with_brackets_closed_on_the_way(
        tmp_path: Path) -> None:
    # [[], [[], [[], ...]]]: each level holds an empty list beside the next level, 1,100
    # deep, which is refused before any parser sees it (libyaml before 0.2.5 has no depth
    # limit of its own)
    path = tmp_path / "config.yaml"
    path.write_text("[[], " * 1100 + "]" * 1100 + "\n")
    assert problems_of(path) == [(str(path), "", f"not loaded: nested deeper than "
                                                 f"{MAX_YAML_DEPTH} levels")]


def test_quoted_opening_brackets_up_to_the_scan_limit_still_load(tmp_path: Path) -> None:
    # The pre-parse scan counts brackets inside quotes too (an over-estimate): 1,001 opening
    # brackets in all, never more than 1,000 open at once, is not refused.
    data = read_yaml(tmp_path, "b: []\na: '" + "[" * 1000 + "'\n")
    assert data == {"b": [], "a": "[" * 1000}
