"""A new user's first hour: every mistake gets one line that says what is wrong and how to fix
it, with the documented exit code (docs/cli.md), and the terminal output reads well."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from falco_response import ConfigError, Engine
from falco_response.cli.alerts import Table

from .conftest import ROOT, SAMPLES

EXAMPLE = str(ROOT / "examples" / "falco-response.yaml")
ALERTS = str(ROOT / "examples" / "alerts.jsonl")
SHELL = (SAMPLES / "falco-syscall-terminal-shell.json").read_bytes().replace(b"\n", b"")


def cli(*args: str, stdin: bytes = b"", env: dict[str, str] | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FALCO_RESPONSE_")}
    return subprocess.run([sys.executable, "-m", "falco_response", *args], input=stdin,
                          capture_output=True, env={**clean, **(env or {})}, timeout=60, cwd=cwd)


def one_error_line(done: subprocess.CompletedProcess[bytes]) -> str:
    """stderr is exactly one line, ``error: ...``, and no traceback."""
    text = done.stderr.decode()
    assert "Traceback" not in text, text
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), text
    return lines[0]


@pytest.mark.parametrize("value", ["ture", "y", "enabled", "2"])
def test_a_dry_run_variable_that_is_not_true_or_false_stops_at_start_up(value: str) -> None:
    done = cli("handle", "-c", EXAMPLE, stdin=SHELL + b"\n",
               env={"FALCO_RESPONSE_DRY_RUN": value})
    assert done.returncode == 3
    line = one_error_line(done)
    assert f"FALCO_RESPONSE_DRY_RUN: {value!r} is neither true nor false" in line
    assert done.stdout == b""  # nothing ran, live or not


@pytest.mark.parametrize("value, dry", [("TRUE", True), (" on ", True), ("1", True),
                                        ("off", False), ("0", False), ("", False)])
def test_the_dry_run_variable_takes_the_documented_spellings(
        value: str, dry: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FALCO_RESPONSE_DRY_RUN", value)
    engine = Engine.from_config({"version": 1}, entry_points=False)
    assert engine.dry_run is dry


def test_the_library_refuses_a_misspelt_dry_run_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FALCO_RESPONSE_DRY_RUN", "ture")
    with pytest.raises(ConfigError, match="neither true nor false"):
        Engine.from_config({"version": 1}, entry_points=False)


def test_an_unknown_log_level_is_one_line_and_exit_3() -> None:
    done = cli("replay", ALERTS, "-c", EXAMPLE, env={"FALCO_RESPONSE_LOG_LEVEL": "verbose"})
    assert done.returncode == 3
    assert "FALCO_RESPONSE_LOG_LEVEL='verbose' is not a log level: use one of debug, info, " \
           "warning, error" in one_error_line(done)


def test_schema_into_a_pipe_closed_early_stops_quietly() -> None:
    """``falco-response schema | head -c 100``: the reader is gone before the schema is
    written (closed here before the interpreter has even started)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FALCO_RESPONSE_")}
    with subprocess.Popen([sys.executable, "-m", "falco_response", "schema"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        err = proc.stderr.read()
        code = proc.wait(timeout=60)
    assert err == b"" and code == 141


@pytest.mark.parametrize("form", [["CONFIG"], ["-c", "CONFIG"], ["--config", "CONFIG"]])
def test_check_takes_the_config_as_every_command_does(form: list[str]) -> None:
    done = cli("check", *[EXAMPLE if a == "CONFIG" else a for a in form])
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().startswith(f"{EXAMPLE}: ok:")


def test_check_takes_the_config_from_the_environment_and_refuses_two() -> None:
    assert cli("check", env={"FALCO_RESPONSE_CONFIG": EXAMPLE}).returncode == 0
    done = cli("check", EXAMPLE, "-c", "other.yaml")
    assert done.returncode == 2
    assert "two configs named" in one_error_line(done)


def test_replay_of_a_missing_file_is_a_usage_error() -> None:
    done = cli("replay", "nope.jsonl", "-c", EXAMPLE)
    assert done.returncode == 2
    assert "error: cannot read nope.jsonl: No such file or directory" in one_error_line(done)


@pytest.mark.parametrize("name", ["log", "example-echo"])
def test_new_plugin_refuses_a_built_in_or_installed_name(name: str, tmp_path: Path) -> None:
    if name == "example-echo" and os.environ.get("FALCO_RESPONSE_EXAMPLE_PLUGIN") != "installed":
        pytest.skip("the example plugin is installed by tox -e core")
    done = cli("new-plugin", name, "--dir", str(tmp_path))
    assert done.returncode == 2
    assert f"error: {name!r} is already an action type" in one_error_line(done)
    assert list(tmp_path.iterdir()) == []


def test_handle_reports_a_bad_line_once_on_stderr_with_its_number() -> None:
    done = cli("handle", "-c", EXAMPLE, "--dry-run", stdin=SHELL + b"\n{broken\n" + SHELL + b"\n")
    assert done.returncode == 1
    mentions = [line for line in done.stderr.decode().splitlines() if "not JSON" in line]
    assert len(mentions) == 1, done.stderr
    event = json.loads(mentions[0])
    assert event["event"] == "unreadable message" and event["line"] == 2
    assert json.loads(done.stdout.splitlines()[1])["line"] == 2


def test_library_logs_go_to_stderr_not_the_callers_stdout() -> None:
    code = ("from falco_response import Engine\n"
            "e = Engine.from_config({'version': 1, 'responses': [{'name': 'a', 'actions': "
            "[{'type': 'log'}]}]}, entry_points=False)\n"
            "e.handle(b'{broken')\n"
            "e.handle(" + repr(SHELL) + ")\n"
            "print('mine')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60,
                          env={k: v for k, v in os.environ.items()
                               if not k.startswith("FALCO_RESPONSE_")})
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"mine\n"
    assert b"unreadable message" in done.stderr


def test_the_replay_table_fits_an_80_column_terminal() -> None:
    done = cli("replay", ALERTS, "-c", EXAMPLE, "--dry-run", env={"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    assert lines[0].split() == ["LINE", "RULE", "PRIORITY", "RESPONSE", "ACTION", "STATUS",
                                "TARGET", "REASON"]
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert "7 alerts, 6 matched a response, 0 unreadable (dry run)" in lines[-1]


def test_a_wide_terminal_gets_the_full_text() -> None:
    done = cli("replay", ALERTS, "-c", EXAMPLE, "--dry-run", env={"COLUMNS": "220"})
    assert "Terminal shell in container" in done.stdout.decode()
    assert "would log the alert at critical" in done.stdout.decode()


def test_line_numbers_past_99999_are_printed_in_full(tmp_path: Path) -> None:
    alerts = tmp_path / "many.jsonl"
    alerts.write_bytes(b"\n" * 123_455 + b"{broken\n")
    done = cli("replay", str(alerts), "-c", EXAMPLE, "--dry-run", env={"COLUMNS": "80"})
    assert done.returncode == 1
    row = done.stdout.decode().splitlines()[1]
    assert row.split()[0] == "123456"


def test_the_target_is_never_cut_the_reason_is() -> None:
    target = "pod:checkout/cart-5d8f7-qp2x-a-very-long-generated-name"
    row = Table(80).row((7, "Terminal shell in container", "Critical", "shells", "delete-pod",
                         "dry_run", target, "would delete the pod " + "x" * 200))
    assert target in row
    assert row.index(target) < row.index("would")
    assert len(row) <= 80 + len(target)
    assert Table(None).row((1, "r", "p", "s", "a", "ok", "t", "y" * 150)).endswith("y" * 150)


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@pytest.mark.skipif(_installed("prometheus_client") or _installed("boto3"),
                    reason="the core env has neither extra: this is where they are missing")
@pytest.mark.parametrize("args, extra", [
    (["serve", "-c", EXAMPLE], "server"),
    (["consume", "-c", EXAMPLE, "--queue-url", "https://sqs.eu-west-1.amazonaws.com/1/q"],
     "server"),
    (["audit", "--store", "dynamodb://falco-response"], "aws"),
])
def test_a_missing_extra_is_named_with_the_command_that_installs_it(
        args: list[str], extra: str) -> None:
    done = cli(*args)
    assert done.returncode == 5
    line = one_error_line(done)
    assert f"needs the {extra!r} extra" in line
    assert f"pip install 'falco-response[{extra}]' (from a clone: pip install '.[{extra}]')" \
        in line
