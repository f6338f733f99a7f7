"""The command line, run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, SAMPLES

EXAMPLE = str(ROOT / "examples" / "falco-response.yaml")


def cli(*args: str, stdin: bytes = b"", env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "falco_response", *args], input=stdin,
                          capture_output=True, env={**os.environ, **(env or {})}, timeout=60)


def lines(out: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def test_handle_reads_json_lines_and_reports_bad_ones_with_numbers() -> None:
    good = (SAMPLES / "falco-syscall-terminal-shell.json").read_bytes().replace(b"\n", b"")
    stdin = good + b"\n{broken\n\n" + good + b"\n"
    done = cli("handle", "--config", EXAMPLE, "--dry-run", stdin=stdin)
    assert done.returncode == 1
    out = lines(done.stdout)
    assert [o.get("rule") or o["error"][:19] for o in out] == [
        "Terminal shell in container", "message is not JSON", "Terminal shell in container"]
    assert out[1]["line"] == 2
    assert out[0]["outcomes"][0] == {"response": "shells-in-containers",
                                     "action": "record-critical", "status": "dry_run",
                                     "target": None, "reason": "would log the alert at critical"}
    assert b'"line":2' in done.stderr and b"message is not JSON" in done.stderr
    assert b"Traceback" not in done.stderr


def test_handle_takes_config_from_environment() -> None:
    alert = (SAMPLES / "falco-legacy-no-source.json").read_bytes().replace(b"\n", b"")
    done = cli("handle", stdin=alert + b"\n", env={"FALCO_RESPONSE_CONFIG": EXAMPLE,
                                                   "FALCO_RESPONSE_DRY_RUN": "1"})
    assert done.returncode == 0, done.stderr
    assert lines(done.stdout)[0]["outcomes"][0]["status"] == "dry_run"


def test_handle_without_config_is_a_usage_problem() -> None:
    env = {k: v for k, v in os.environ.items() if k != "FALCO_RESPONSE_CONFIG"}
    done = subprocess.run([sys.executable, "-m", "falco_response", "handle"], input=b"",
                          capture_output=True, env=env, timeout=60)
    assert done.returncode == 3
    assert b"no config: pass --config or set FALCO_RESPONSE_CONFIG" in done.stderr


def test_replay_table() -> None:
    done = cli("replay", str(ROOT / "examples" / "alerts.jsonl"), "-c", EXAMPLE, "--dry-run")
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode()
    assert text.splitlines()[0].split() == ["LINE", "RULE", "PRIORITY", "RESPONSE", "ACTION",
                                            "STATUS", "TARGET", "REASON"]
    assert "shells-in-containers" in text and "no response matched" in text
    assert "7 alerts, 6 matched a response, 0 unreadable (dry run)" in text


def test_replay_json_and_bad_lines() -> None:
    done = cli("replay", str(ROOT / "examples" / "bad-alerts.jsonl"), "-c", EXAMPLE, "--json")
    assert done.returncode == 1
    out = lines(done.stdout)
    assert [o["line"] for o in out] == [1, 2, 3, 4, 5]
    assert all("error" in o for o in out)


def test_replay_escapes_terminal_control_characters(tmp_path: Path) -> None:
    alert = json.loads((SAMPLES / "falco-syscall-terminal-shell.json").read_text())
    alert["rule"] = "Evil \x1b[2J\x1b[31mrule"
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(alert) + "\n")
    done = cli("replay", str(path), "-c", EXAMPLE)
    assert b"\x1b" not in done.stdout
    assert b"Evil \\x1b[2J" in done.stdout


def test_replay_missing_file() -> None:
    done = cli("replay", "/nonexistent/alerts.jsonl", "-c", EXAMPLE)
    assert done.returncode == 2 and b"cannot read /nonexistent/alerts.jsonl" in done.stderr


def test_check_good_and_bad(tmp_path: Path) -> None:
    done = cli("check", EXAMPLE)
    assert done.returncode == 0 and b"ok: 5 responses" in done.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nresponses:\n  - name: x\n    match: {priority: '>=nope'}\n"
                   "    actions: [{type: nope}]\n")
    done = cli("check", str(bad))
    assert done.returncode == 3
    err = done.stderr.decode()
    assert f"{bad}: responses[0].actions[0].type: unknown action type 'nope'" in err
    assert f"{bad}: responses[0].match.priority: unknown priority 'nope'" in err
    assert "2 problem(s)" in err


def test_plugins_lists_action_types() -> None:
    done = cli("plugins", "--json")
    data = json.loads(done.stdout)
    assert "falco_response.parsers" in data["plugins"]
    assert {"type": "log", "plugin": "falco_response.log_action", "destructive": False,
            "summary": "Writes the alert as a structured log event (stderr).",
            "permissions": []} in data["action_types"]
    assert b"action types:" in cli("plugins").stdout


def test_schema_is_json_schema() -> None:
    done = cli("schema")
    schema = json.loads(done.stdout)
    assert schema["$schema"].endswith("2020-12/schema")
    assert "ConfigSpec" in schema["$defs"] and "MatchSpec" in schema["$defs"]


def test_no_command_is_a_usage_error() -> None:
    assert cli().returncode == 2


@pytest.mark.skipif(os.environ.get("FALCO_RESPONSE_EXAMPLE_PLUGIN") != "installed",
                    reason="run through tox -e core, which installs tests/example_plugin")
def test_installed_example_plugin_registers_through_entry_points() -> None:
    data = json.loads(cli("plugins", "--json").stdout)
    assert "example" in data["plugins"]
    assert data["distributions"]["example"] == "falco-response-example 0.1.0"
    assert any(t["type"] == "example-echo" and t["plugin"] == "example"
               for t in data["action_types"])
    from falco_response import Engine

    engine = Engine.from_config({"version": 1, "responses": [
        {"name": "r", "actions": [{"type": "example-echo", "with": {"prefix": "hi"}}]}]})
    alert = json.loads((SAMPLES / "falco-syscall-terminal-shell.json").read_text())
    (result,) = engine.handle(alert)
    assert result.outcomes[0].reason == "hi: Terminal shell in container"
    (dropped,) = engine.handle({**alert, "tags": ["example-drop"]})
    assert dropped.dropped == "tagged example-drop"
    blocked = cli("plugins", "--json", env={"FALCO_RESPONSE_DISABLE_PLUGINS": "example"})
    assert "example" not in json.loads(blocked.stdout)["plugins"]
