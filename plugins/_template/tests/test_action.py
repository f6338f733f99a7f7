"""The ``__NAME__`` action through a real engine: config validation, dry run, outcomes, and
loading by entry point once the distribution is installed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import __MODULE__
from falco_response import ConfigError, Engine

ALERT: dict[str, Any] = {
    "time": "2026-11-26T20:00:00.123456789Z", "rule": "Terminal shell in container",
    "priority": "Critical", "output": "A shell was spawned in a container", "source": "syscall",
    "output_fields": {"k8s.ns.name": "payments", "k8s.pod.name": "api-7f9"},
}


def engine(path: Path, **params: Any) -> Engine:
    config = {"version": 1,
              "actions": {"keep": {"type": "__NAME__", "with": {"path": str(path), **params}}},
              "responses": [{"name": "everything", "actions": ["keep"]}]}
    return Engine.from_config(config, plugins=[__MODULE__], entry_points=False)


def test_appends_the_alert(tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    (result,) = engine(out).handle(ALERT)
    (outcome,) = result.outcomes
    assert (outcome.status.value, outcome.target, outcome.reason) == (
        "ok", f"file:{out}", "appended")
    assert json.loads(out.read_text())["output_fields"]["k8s.pod.name"] == "api-7f9"


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    (result,) = Engine.from_config(
        {"version": 1, "settings": {"dry_run": True},
         "actions": {"keep": {"type": "__NAME__", "with": {"path": str(out)}}},
         "responses": [{"name": "everything", "actions": ["keep"]}]},
        plugins=[__MODULE__], entry_points=False).handle(ALERT)
    assert result.outcomes[0].status.value == "dry_run"
    assert not out.exists()


def test_skips_alerts_below_the_threshold(tmp_path: Path) -> None:
    (result,) = engine(tmp_path / "a.jsonl", min_priority="critical").handle(
        {**ALERT, "priority": "Notice"})
    assert result.outcomes[0].status.value == "skipped"
    assert result.outcomes[0].reason == "priority Notice is below Critical"


def test_bad_parameters_stop_the_config_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        engine(tmp_path / "missing-dir" / "a.jsonl", min_priority="severe")
    assert "min_priority" in str(caught.value)


def test_the_installed_distribution_registers_the_action_type() -> None:
    from falco_response.plugins import build_plugin_manager

    action_type = build_plugin_manager().actions.get("__NAME__")
    assert action_type is not None and not action_type.destructive
