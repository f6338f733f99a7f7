"""Config loading: every problem found, each with file, path inside it and reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from falco_response import ConfigError, Engine
from falco_response.plugins import build_plugin_manager
from falco_response.config import load_config
from falco_response.schema import json_schema, parse_duration

from .conftest import ROOT, build


def problems(config: Any, tmp_path: Path | None = None) -> list[tuple[str, str]]:
    source: Any = config
    if tmp_path is not None:
        source = tmp_path / "cfg.yaml"
        source.write_text(config)
    with pytest.raises(ConfigError) as info:
        Engine.from_config(source, entry_points=False)
    return [(p.path, p.reason) for p in info.value.problems]


def resp(**kw: Any) -> dict[str, Any]:
    return {"name": "r", "actions": [{"type": "log"}], **kw}


def test_example_config_loads() -> None:
    engine = Engine.from_config(ROOT / "examples" / "falco-response.yaml", entry_points=False)
    assert len(engine.config.responses) == 5


def test_errors_name_file_path_and_reason(tmp_path: Path) -> None:
    text = """version: 1
responses:
  - name: ok
    actions: [{type: log}]
  - name: bad
    match: {priority: ">=severe"}
    actions: [{type: log}]
"""
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        Engine.from_config(path, entry_points=False)
    (problem,) = info.value.problems
    assert problem.file == str(path)
    assert problem.path == "responses[1].match.priority"
    assert "unknown priority 'severe'" in problem.reason
    assert str(problem).startswith(f"{path}: responses[1].match.priority: ")


def test_all_problems_are_reported_at_once() -> None:
    config = {
        "version": 1,
        "actions": {"kill": {"type": "no-such-type"}, "shout": {"type": "log", "with": {"level": "loud"}}},
        "responses": [
            resp(name="a", match={"rule": []}),
            resp(name="b", match={"fields": {"fd.name": {"regex": "("}}}),
            resp(name="c", match={"unknown": 1}),
            resp(name="a"),
            resp(name="d", actions=["missing-action"]),
            resp(name="e", actions=[]),
        ],
    }
    found = problems(config)
    paths = [p for p, _ in found]
    assert paths == [
        "actions.kill.type", "actions.shout.with.level", "responses[0].match.rule",
        "responses[1].match.fields.fd.name.regex", "responses[2].match",
        "responses[3].name", "responses[4].actions[0]", "responses[5].actions",
    ]
    reasons = dict(found)
    assert "unknown action type 'no-such-type' (installed: log)" in reasons["actions.kill.type"]
    assert "Invalid enum value 'loud'" in reasons["actions.shout.with.level"]
    assert "unknown field `unknown`" in reasons["responses[2].match"]
    assert "duplicate response name 'a'" in reasons["responses[3].name"]
    assert "no action named 'missing-action'" in reasons["responses[4].actions[0]"]


@pytest.mark.parametrize("config, path, reason", [
    ({}, "", "missing required field `version`"),
    ({"version": 2}, "version", "Invalid enum value 2"),
    ({"version": 1, "extra": True}, "", "unknown field `extra`"),
    ({"version": 1, "settings": {"dry_run": "yes"}}, "settings.dry_run", "Expected `bool`"),
    ({"version": 1, "settings": {"action_timeout": "soon"}}, "settings.action_timeout",
     "not a duration"),
    ({"version": 1, "actions": []}, "actions", "must be a mapping"),
    ({"version": 1, "responses": {"a": 1}}, "responses", "must be a list"),
    ({"version": 1, "responses": [resp(match={"priority": 3})]}, "responses[0].match.priority",
     "Expected `str | array | null`, got `int`"),
    ({"version": 1, "responses": [resp(actions=[{"type": "log", "with": {"nope": 1}}])]},
     "responses[0].actions[0].with", "unknown field `nope`"),
    ({"version": 1, "responses": [resp(match={"tags": {"some": ["x"]}})]}, "responses[0].match.tags",
     "unknown field `some`"),
])
def test_each_kind_of_problem(config: dict[str, Any], path: str, reason: str) -> None:
    found = problems(config)
    assert any(p == path and reason in r for p, r in found), found


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    found = problems("version: 1\nresponses: [\n  - {name: x\n", tmp_path)
    assert found[0][0].startswith("line ")
    assert "not valid YAML" in found[0][1]


def test_unreadable_file(tmp_path: Path) -> None:
    found = problems(tmp_path / "absent.yaml")
    assert "cannot read" in found[0][1]


def test_non_mapping_config(tmp_path: Path) -> None:
    assert problems("- 1\n- 2\n", tmp_path) == [("", "the config must be a YAML mapping")]


def test_env_interpolation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_MESSAGE", "from env")
    config = {"version": 1, "responses": [resp(actions=[
        {"type": "log", "with": {"message": "${LOG_MESSAGE}!", "level": "${LEVEL:-error}"}}])]}
    engine = build(config)
    assert engine.config.spec.responses[0].actions[0].with_ == {"message": "from env!",
                                                                "level": "error"}


def test_dollar_dollar_is_a_literal_dollar(monkeypatch: pytest.MonkeyPatch) -> None:
    config = {"version": 1, "responses": [resp(actions=[
        {"type": "log", "with": {"message": "costs $${HOME}"}}])]}
    assert build(config).config.spec.responses[0].actions[0].with_["message"] == "costs ${HOME}"


def test_missing_env_variable_is_named_and_its_neighbours_never_printed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("OTHER_SECRET", "s3cr3t-value")
    config = {"version": 1, "actions": {"a": {"type": "log", "with": {
        "message": "${SLACK_WEBHOOK_URL}", "level": "${OTHER_SECRET}"}}}}
    found = problems(config)
    assert ("actions.a.with.message", "environment variable SLACK_WEBHOOK_URL is not set") in found
    assert all("s3cr3t-value" not in r for _, r in found)
    assert ("actions.a.with.level", "Invalid enum value '<value of ${OTHER_SECRET}>'") in found


def test_plugin_factory_rejecting_settings_is_a_config_error() -> None:
    class Strict:
        from falco_response import hookimpl

        @hookimpl
        def register_actions(self, register: Any) -> None:
            def make(params: Any) -> Any:
                raise ValueError("webhook_url must start with https://")
            register("strict", make)

    with pytest.raises(ConfigError) as info:
        Engine.from_config({"version": 1, "responses": [resp(actions=[{"type": "strict"}])]},
                           plugins=[Strict()], entry_points=False)
    (problem,) = info.value.problems
    assert (problem.path, problem.reason) == ("responses[0].actions[0].with",
                                              "webhook_url must start with https://")


@pytest.mark.parametrize("text, seconds", [("10m", 600), ("30s", 30), ("1h", 3600),
                                           ("250ms", 0.25), (5, 5), ("1.5m", 90), ("2d", 172800)])
def test_durations(text: Any, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "ten", "-1s", 0, True, "5 weeks"])
def test_bad_durations(bad: Any) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_json_schema_describes_action_parameters() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    registry = build_plugin_manager(entry_points=False).actions
    schema = json_schema({t.name: t.params for t in registry})
    jsonschema.Draft202012Validator.check_schema(schema)
    import yaml

    example = yaml.safe_load((ROOT / "examples" / "falco-response.yaml").read_text())
    jsonschema.validate(example, schema)
    bad = json.loads(json.dumps(example))
    bad["actions"]["record"]["with"]["level"] = "loud"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    bad = json.loads(json.dumps(example))
    bad["responses"][0]["match"]["colour"] = "red"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_config_keeps_destructive_list() -> None:
    registry = build_plugin_manager(entry_points=False).actions
    config = load_config({"version": 1, "responses": [resp()]}, registry)
    assert config.destructive_actions == []
