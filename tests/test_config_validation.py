"""config.py's validation branches, one by one: where each problem is reported, that a bad
piece does not hide the next one, and what a good config carries into the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from falco_response import ConfigError, Engine, hookimpl
from falco_response.config import load_config
from falco_response.plugins import build_plugin_manager


def registry() -> Any:
    return build_plugin_manager([Types()], entry_points=False).actions


class Types:
    """A destructive and a non-destructive type; ``with: {fail: ...}`` makes the factory raise."""

    @hookimpl
    def register_actions(self, register: Any) -> None:
        def make(params: Any) -> Any:
            failing = (params or {}).get("fail") if isinstance(params, dict) else None
            if failing == "value":
                raise ValueError("the factory says no")
            if failing == "type":
                raise TypeError("the factory says no, typed")
            return lambda ctx: ctx.ok()

        register("zap", make, params=dict, destructive=True)
        register("note", make, params=dict)


def load(config: Any) -> Any:
    return load_config(config, registry())


def problems(config: Any) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        load(config)
    return [(p.path, p.reason) for p in info.value.problems]


def resp(**kw: Any) -> dict[str, Any]:
    return {"name": "r", "actions": [{"type": "note"}], **kw}


def test_a_good_config_carries_its_settings() -> None:
    config = load({"version": 1, "settings": {
        "dry_run": True, "protected_namespaces": ["payments"], "store": "sqlite:///x.db",
        "action_timeout": "3s", "alert_deadline": "1m", "log_level": "debug",
        "limits": {"destructive": {"max": 3, "per": "10m"}, "zap": {"max": 1000, "per": 60}},
        "audit": {"retention": "2d"}},
        "actions": {"z": {"type": "zap"}, "n": {"type": "note"}},
        "responses": [resp(name="a", actions=["z", "n"]), resp(name="b", actions=["n"])]})
    assert config.source == "<dict>"
    assert config.settings.dry_run is True
    assert config.settings.protected_namespaces == frozenset({"payments"})
    assert config.settings.store == "sqlite:///x.db"
    assert (config.action_timeout, config.alert_deadline, config.log_level) == (3.0, 60.0,
                                                                               "debug")
    assert [(l.name, l.max, l.seconds) for l in config.limits] == [("destructive", 3, 600.0),
                                                              ("zap", 1000, 60.0)]
    assert config.audit_retention == 2 * 86400
    assert [r.name for r in config.responses] == ["a", "b"]
    assert [a.name for a in config.responses[0].actions] == ["z", "n"]
    assert config.destructive_actions == ["a/z"]


def test_defaults_when_settings_are_absent_or_null() -> None:
    for settings in ({}, {"settings": None, "actions": None, "responses": None}):
        config = load({"version": 1, **settings})
        assert config.settings.dry_run is False
        assert "kube-system" in config.settings.protected_namespaces
        assert (config.action_timeout, config.alert_deadline) == (30.0, 120.0)
        assert config.audit_retention == 30 * 86400 and config.limits == ()
        assert config.responses == () and config.destructive_actions == []


def test_audit_off_has_no_retention_and_its_retention_is_not_parsed() -> None:
    config = load({"version": 1, "settings": {"audit": {"enabled": False, "retention": "x"}}})
    assert config.audit_retention is None


@pytest.mark.parametrize("settings, path, reason", [
    ({"alert_deadline": "later"}, "settings.alert_deadline", "not a duration"),
    ({"action_timeout": "-1s"}, "settings.action_timeout", "not a duration"),
    ({"audit": {"retention": "forever"}}, "settings.audit.retention", "not a duration"),
    ({"limits": {"destructive": {"max": 0, "per": "1m"}}}, "settings.limits.destructive",
     "max must be at least 1"),
    ({"limits": {"zap": {"max": 1001, "per": "1m"}}}, "settings.limits.zap",
     "max above 1000 is not a limit"),
    ({"limits": {"destructive": {"max": 1, "per": "soon"}}}, "settings.limits.destructive",
     "not a duration"),
    ({"limits": {"nuke": {"max": 1, "per": "1m"}}}, "settings.limits.nuke",
     "not 'destructive' nor an installed action type (log, note, zap)"),
])
def test_each_settings_problem(settings: dict[str, Any], path: str, reason: str) -> None:
    found = problems({"version": 1, "settings": settings})
    assert len(found) == 1 and found[0][0] == path and reason in found[0][1], found


def test_every_settings_problem_at_once() -> None:
    found = problems({"version": 1, "settings": {
        "action_timeout": "a", "alert_deadline": "b", "audit": {"retention": "c"},
        "limits": {"nuke": {"max": 1, "per": "1m"}, "destructive": {"max": 0, "per": "1m"},
                   "zap": {"max": 1, "per": "1m"}}}})
    assert [p for p, _ in found] == ["settings.action_timeout", "settings.alert_deadline",
                                     "settings.limits.nuke", "settings.limits.destructive",
                                     "settings.audit.retention"]


def test_bad_settings_block_keeps_the_other_problems() -> None:
    found = problems({"version": 1, "settings": {"dry_run": "maybe"},
                      "responses": [resp(actions=["ghost"])]})
    assert [p for p, _ in found] == ["settings.dry_run", "responses[0].actions[0]"]


@pytest.mark.parametrize("fail, reason", [("value", "the factory says no"),
                                          ("type", "the factory says no, typed")])
def test_a_factory_that_refuses_its_parameters(fail: str, reason: str) -> None:
    assert problems({"version": 1, "actions": {"z": {"type": "zap", "with": {"fail": fail}}}}
                    ) == [("actions.z.with", reason)]
    assert problems({"version": 1, "responses": [resp(actions=[
        {"type": "zap", "with": {"fail": fail}}])]}) == [("responses[0].actions[0].with", reason)]


def test_a_named_action_that_failed_is_not_reported_twice() -> None:
    found = problems({"version": 1, "actions": {"z": {"type": "nope"}},
                      "responses": [resp(actions=["z", "z"])]})
    assert found == [("actions.z.type", "unknown action type 'nope' (installed: log, note, zap)")]


def test_an_action_spec_that_is_not_a_mapping() -> None:
    found = problems({"version": 1, "actions": {"z": "zap"},
                      "responses": [resp(actions=["z"])]})
    assert [p for p, _ in found] == ["actions.z"]


@pytest.mark.parametrize("cooldown, reason", [
    ("soon", "not a duration"),
    ({"for": "1m", "key": []}, "a cooldown key needs at least one part"),
    ({"for": "1m", "key": ["rule", "colour"]}, "unknown cooldown key part 'colour'"),
    ({"for": "1m", "key": ["fields."]}, "unknown cooldown key part 'fields.'"),
])
def test_cooldown_problems_at_each_level(cooldown: Any, reason: str) -> None:
    found = problems({"version": 1, "actions": {"z": {"type": "zap", "cooldown": cooldown}},
                      "responses": [resp(cooldown=cooldown, actions=[
                          "z", {"type": "note", "cooldown": cooldown}])]})
    assert [p for p, _ in found] == ["actions.z.cooldown", "responses[0].actions[1].cooldown",
                                     "responses[0].cooldown"]
    assert all(reason in r for _, r in found), found


def test_cooldowns_are_compiled_where_they_are_set() -> None:
    config = load({"version": 1, "actions": {"z": {"type": "zap", "cooldown": "5m"}},
                   "responses": [resp(cooldown={"for": "1h", "key": ["rule", "fields.fd.name"]},
                                      actions=["z"])]})
    response = config.responses[0]
    assert response.cooldown is not None and response.cooldown.seconds == 3600
    assert response.cooldown.key == ("rule", "fields.fd.name")
    assert response.actions[0].cooldown is not None
    assert response.actions[0].cooldown.seconds == 300
    assert response.actions[0].cooldown.key == ("rule", "target")


def test_a_bad_match_is_reported_with_its_inner_path() -> None:
    found = problems({"version": 1, "responses": [
        resp(match={"fields": {"fd.name": {"regex": "("}}}, actions=["ghost"])]})
    assert found[0][0] == "responses[0].actions[0]"
    assert found[1][0] == "responses[0].match.fields.fd.name.regex"


def test_response_problems_are_numbered_and_duplicates_point_back() -> None:
    found = problems({"version": 1, "responses": [
        resp(name="a"), {"name": "x"}, resp(name="a"), resp(name="a")]})
    assert found[0][0] == "responses[1]"
    assert found[1] == ("responses[2].name", "duplicate response name 'a' (also responses[0])")
    assert found[2] == ("responses[3].name", "duplicate response name 'a' (also responses[2])")


def test_interpolation_paths_in_lists_and_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FR_MISSING", raising=False)
    monkeypatch.setenv("FR_SHORT", "abc")
    monkeypatch.setenv("FR_LONG", "abcd")
    found = problems({"version": 1, "settings": {
        "protected_namespaces": ["a", "${FR_MISSING}"], "log_level": "${FR_LONG}"},
        "actions": {"l": {"type": "log", "with": {"level": "${FR_SHORT}"}}}})
    reasons = dict(found)
    assert reasons["settings.protected_namespaces[1]"] == (
        "environment variable FR_MISSING is not set")
    assert "'abc'" in reasons["actions.l.with.level"]        # 3 characters: not a secret
    assert "'<value of ${FR_LONG}>'" in reasons["settings.log_level"]


def test_interpolation_defaults_and_dollars(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FR_MISSING", raising=False)
    monkeypatch.setenv("FR_SET", "payments")
    texts = ["${FR_MISSING:-falco}", "${FR_SET:-x}", "a$$b", "${FR_MISSING:-}x", "$plain"]
    config = load({"version": 1, "actions": {
        f"l{i}": {"type": "log", "with": {"message": text}} for i, text in enumerate(texts)}})
    assert [config.spec.actions[f"l{i}"].with_["message"] for i in range(len(texts))] == [
        "falco", "payments", "a$b", "x", "$plain"]


def test_files(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"version: 1\nx: \xff\n")
    [(where, reason)] = problems(path)
    assert where == "" and reason.startswith("cannot read: ")
    path.write_text("version: 1\nsettings: {dry_run: true}\n")
    config = load(path)
    assert config.source == str(path) and config.settings.dry_run is True
    path.write_text("version: 1\n  bad: indent\n")
    [(where, reason)] = problems(path)
    assert (where, reason) == ("line 2, column 6",
                               "not valid YAML: mapping values are not allowed in this context")
    path.write_text("version: 1\nx: \x07\n")            # a ReaderError: no mark, no problem
    [(where, reason)] = problems(path)
    assert where == "" and reason.startswith(
        "not valid YAML: unacceptable character #x0007: control characters are not allowed")
    path.write_text("null\n")
    assert problems(path) == [("", "the config must be a YAML mapping")]


@pytest.mark.parametrize("text", ["version: 1\n  bad: indent\n", "version: 1\nx: \x07\n", "[]\n",
                                  b"\xff\xfe"])
def test_file_problems_name_the_file(tmp_path: Path, text: Any) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ConfigError) as info:
        load(path)
    assert [p.file for p in info.value.problems] == [str(path)]


def test_inline_actions_and_response_options_are_kept() -> None:
    config = load({"version": 1, "actions": {"z": {"type": "zap", "dry_run": True}},
                   "responses": [resp(actions=["z", {"type": "note", "dry_run": False}],
                                      stop=True, dry_run=True), resp(name="s")]})
    first, second = config.responses
    assert [(a.name, a.dry_run, a.type.name) for a in first.actions] == [
        ("z", True, "zap"), ("note", False, "note")]
    assert all(callable(a.run) for a in first.actions)
    assert (first.stop, first.dry_run, second.stop, second.dry_run) == (True, True, False, None)
    assert config.index is not None   # what it finds is matching.py's tests' business


def test_the_words_of_each_structural_problem() -> None:
    assert problems({"version": 1, "actions": [1]}) == [
        ("actions", "must be a mapping of action names to {type, with}")]
    assert problems({"version": 1, "responses": {"a": 1}}) == [
        ("responses", "must be a list of responses")]
    assert problems({"version": 1, "responses": [resp(actions=[])]}) == [
        ("responses[0].actions", "a response needs at least one action")]


def test_engine_from_config_uses_the_same_checks() -> None:
    with pytest.raises(ConfigError) as info:
        Engine.from_config({"version": 1, "settings": {"limits": {
            "destructive": {"max": 0, "per": "1m"}}}}, entry_points=False)
    assert info.value.problems[0].path == "settings.limits.destructive"


def test_a_bad_store_url_is_a_settings_store_problem() -> None:
    from falco_response.state.urls import check_store_url

    reason = check_store_url("ftp://nowhere")
    assert reason
    assert problems({"version": 1, "settings": {"store": "ftp://nowhere"}}) == [
        ("settings.store", reason)]


def test_a_file_nested_too_deep_names_the_file(tmp_path: Path) -> None:
    from falco_response.config import MAX_YAML_DEPTH

    path = tmp_path / "deep.yaml"
    path.write_text("version: 1\nx: " + "[" * (MAX_YAML_DEPTH + 5) + "]" * (MAX_YAML_DEPTH + 5))
    with pytest.raises(ConfigError) as info:
        load(path)
    [problem] = info.value.problems
    assert (problem.file, problem.path) == (str(path), "")
    assert problem.reason == f"not loaded: nested deeper than {MAX_YAML_DEPTH} levels"
