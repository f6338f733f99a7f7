"""Hostile input costs one message, never the process: JSON nested 100k deep, lone
surrogates, YAML "billion laughs", namespace names that are almost right."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from falco_response import ConfigError, Engine
from falco_response.errors import ParseError
from falco_response.parsing import MAX_NESTING, decode, fast_alert, parse_message

from .conftest import alert_dict

DEEP = 100_000
NESTED = f"message is nested deeper than {MAX_NESTING} levels"
CONFIG = {"version": 1, "actions": {"note": {"type": "log"}},
          "responses": [{"name": "all", "actions": ["note"]}]}


def deep_payloads() -> dict[str, str]:
    good = json.dumps(alert_dict())
    return {
        "arrays": "[" * DEEP + "]" * DEEP,
        "arrays-unclosed": "[" * DEEP,
        "objects": '{"a":' * DEEP + "1" + "}" * DEEP,
        "in-output-fields": good[:-1] + ', "output_fields": ' + '{"a":' * DEEP + "1"
                            + "}" * DEEP + "}",
        "in-an-unknown-key": good[:-1] + ', "extra": ' + "[" * DEEP + "]" * DEEP + "}",
        "in-an-sns-envelope": json.dumps({"Type": "Notification",
                                          "Message": '{"a":' * DEEP + "1" + "}" * DEEP}),
    }


@pytest.mark.parametrize("name", list(deep_payloads()))
def test_deep_json_is_a_precise_parse_error(name: str) -> None:
    payload = deep_payloads()[name]
    with pytest.raises(ParseError, match=NESTED):
        parse_message(payload.encode())
    with pytest.raises(ParseError, match=NESTED):
        parse_message(payload)
    assert fast_alert(payload.encode()) is None


def test_the_limit_is_exact_and_brackets_in_strings_do_not_count() -> None:
    assert decode("[" * MAX_NESTING + "]" * MAX_NESTING) is not None
    with pytest.raises(ParseError, match=NESTED):
        decode("[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1))
    text = json.dumps({"output": "[" * 10_000, "k": "{" * 10_000})
    assert decode(text)["output"] == "[" * 10_000
    escaped = json.dumps({"a": '\\"' + "[" * 5_000})
    assert decode(escaped)["a"].endswith("[" * 5_000)


@pytest.mark.parametrize("name", list(deep_payloads()))
def test_engine_handle_gives_an_error_result_for_deep_json(name: str) -> None:
    engine = Engine.from_config(CONFIG, entry_points=False)
    payload = deep_payloads()[name]
    for form in (payload, payload.encode()):
        (result,) = engine.handle(form)
        assert result.alert is None and result.error == NESTED


def test_a_batch_fails_only_its_deep_record() -> None:
    engine = Engine.from_config(CONFIG, entry_points=False)
    batch = {"Records": [
        {"messageId": "ok-1", "body": json.dumps(alert_dict())},
        {"messageId": "deep", "body": "[" * DEEP + "]" * DEEP},
        {"messageId": "ok-2", "body": json.dumps(alert_dict())}]}
    results = engine.handle(json.dumps({"Records": batch["Records"]}))
    assert [(r.message_id, r.error) for r in results] == [
        ("ok-1", None), ("deep", NESTED), ("ok-2", None)]


def _cli(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "falco_response", *args], input=stdin,
                          capture_output=True, timeout=120,
                          env={**os.environ, "FALCO_RESPONSE_LOG_LEVEL": "error"})


def _lines() -> bytes:
    good = json.dumps(alert_dict()).encode()
    deep = list(deep_payloads().values())
    return b"\n".join([good, *(d.encode() for d in deep), good]) + b"\n"


def test_cli_handle_goes_on_after_deep_lines(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    done = _cli("handle", "--config", str(cfg), stdin=_lines())
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 1, done.stderr
    assert [o.get("error") for o in out] == [None] + [NESTED] * 6 + [None]
    assert [o.get("line") for o in out] == [None, 2, 3, 4, 5, 6, 7, None]
    assert out[-1]["outcomes"][0]["status"] == "ok"
    assert b"RecursionError" not in done.stderr


def test_cli_replay_goes_on_after_deep_lines(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_bytes(_lines())
    done = _cli("replay", str(alerts), "--config", str(cfg), "--json")
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 1, done.stderr
    assert len(out) == 8 and out[-1]["outcomes"][0]["status"] == "ok"
    assert sum(o.get("error") == NESTED for o in out) == 6
    table = _cli("replay", str(alerts), "--config", str(cfg))
    assert table.returncode == 1 and b"2 alerts, 2 matched a response, 6 unreadable" in table.stdout


# -- lone surrogates -----------------------------------------------------------------


@pytest.mark.parametrize("where", ["rule", "output", "hostname", "uuid", "field", "key", "tag"])
def test_a_lone_surrogate_in_a_dict_is_a_parse_error(where: str) -> None:
    data = alert_dict(uuid="u-1")
    bad = "\ud800x"
    if where == "field":
        data["output_fields"]["proc.name"] = bad
    elif where == "key":
        data["output_fields"][bad] = "v"
    elif where == "tag":
        data["tags"] = [bad]
    else:
        data[where] = bad
    engine = Engine.from_config(CONFIG, entry_points=False)
    (result,) = engine.handle(data)
    assert result.alert is None and result.error is not None
    assert "lone surrogate" in result.error and "\ud800" not in result.error
    json.dumps(result.to_dict()).encode("utf-8")  # printable, loggable


def test_a_lone_surrogate_in_text_is_a_parse_error() -> None:
    engine = Engine.from_config(CONFIG, entry_points=False)
    (result,) = engine.handle(json.dumps(alert_dict())[:-1] + ', "x": "\ud800"}')
    assert result.error is not None and "lone surrogate" in result.error


# -- YAML: billion laughs, nesting ----------------------------------------------------


def laughs(depth: int, width: int = 9) -> str:
    lines = ["version: 1", "a0: &a0 [" + ", ".join(['"lol"'] * width) + "]"]
    for i in range(1, depth + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("depth", [6, 9, 30])
def test_billion_laughs_is_a_config_error_at_once(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "laughs.yaml"
    path.write_text(laughs(depth))
    started = time.process_time()
    with pytest.raises(ConfigError) as info:
        Engine.from_config(path, entry_points=False)
    assert time.process_time() - started < 5  # CPU seconds: the unbounded load takes minutes
    (problem,) = info.value.problems
    assert "expands to more than 250,000 values" in problem.reason


def test_check_refuses_billion_laughs(tmp_path: Path) -> None:
    path = tmp_path / "laughs.yaml"
    path.write_text(laughs(9))
    done = _cli("check", str(path))
    assert done.returncode == 3
    assert b"expands to more than 250,000 values" in done.stderr


@pytest.mark.parametrize("text, reason", [
    ("version: 1\nx: " + "[" * 200 + "]" * 200 + "\n", "nested deeper than"),
    ("version: 1\nx: " + "[" * 100_000 + "]" * 100_000 + "\n", "nested deeper than"),
    ("version: 1\nx: " + "{a: " * 5_000 + "1" + "}" * 5_000 + "\n", "nested deeper than"),
    ("version: 1\nx: &a [*a]\n", "an alias refers to a value that contains it"),
])
def test_hostile_yaml_is_a_config_error(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        Engine.from_config(path, entry_points=False)
    assert reason in info.value.problems[0].reason


def test_brackets_inside_strings_do_not_count_as_nesting_below_the_scan_limit(
        tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    pattern = "[" * 300
    path.write_text("version: 1\nresponses:\n- name: r\n  match: {rule: '" + pattern + "'}\n"
                    "  actions: [{type: log}]\n")
    engine = Engine.from_config(path, entry_points=False)
    assert engine.config.responses[0].name == "r"


def test_anchors_and_merge_keys_still_load(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    # Unknown top-level keys are refused, so anchors live where they are used.
    path.write_text("""
version: 1
actions:
  a: &note {type: log, with: {level: warning}}
  b: {<<: *note, dry_run: true}
responses:
  - {name: r, actions: [a, b]}
""")
    engine = Engine.from_config(path, entry_points=False)
    assert [a.name for a in engine.config.responses[0].actions] == ["a", "b"]


# -- protected namespaces ---------------------------------------------------------------


@pytest.mark.parametrize("bad", ["Payments", "kube-system ", "kube-system\n", " falco", "",
                                 "-dash", "dash-", "a" * 64, "kube_system", "ns.with.dots",
                                 "kube-system\x00"])
def test_protected_namespaces_must_be_namespace_names(bad: str) -> None:
    config = {**CONFIG, "settings": {"protected_namespaces": ["kube-system", bad]}}
    with pytest.raises(ConfigError) as info:
        Engine.from_config(config, entry_points=False)
    (problem,) = info.value.problems
    assert problem.path == "settings.protected_namespaces[1]"
    assert repr(bad) in problem.reason and "not a valid namespace name" in problem.reason


@pytest.mark.parametrize("good", ["a", "a" * 63, "kube-system", "team-1", "0x"])
def test_protected_namespaces_accept_namespace_names(good: str) -> None:
    config: dict[str, Any] = {**CONFIG, "settings": {"protected_namespaces": [good]}}
    engine = Engine.from_config(config, entry_points=False)
    assert engine.config.settings.protected_namespaces == frozenset({good})
