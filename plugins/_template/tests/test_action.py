"""The ``__NAME__`` action through a real engine, with the falco-response test kit: config
validation, dry run, outcomes, logs, and loading by entry point once the distribution is
installed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from falco_response_testing import Logs, alert, engine_with

import __MODULE__
from falco_response import ConfigError, Engine


def engine(path: Path, *, dry_run: bool = False, **params: Any) -> Engine:
    """One response running ``__NAME__`` on the kit's sample alert (a shell in pod
    payments/api-7f9); this module is passed in, so the tests run before it is installed."""
    return engine_with("__NAME__", {"path": str(path), **params}, plugins=[__MODULE__],
                       entry_points=False, dry_run=dry_run)


def test_appends_the_alert(tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    (result,) = engine(out).handle(alert(k8s__pod__name="web-1"))
    (outcome,) = result.outcomes
    assert (outcome.status.value, outcome.target, outcome.reason) == (
        "ok", f"file:{out}", "appended")
    assert json.loads(out.read_text())["output_fields"]["k8s.pod.name"] == "web-1"


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    (result,) = engine(out, dry_run=True).handle(alert())
    assert result.outcomes[0].status.value == "dry_run"
    assert not out.exists()


def test_skips_alerts_below_the_threshold(tmp_path: Path) -> None:
    (result,) = engine(tmp_path / "a.jsonl", min_priority="critical").handle(
        alert(top_priority="Notice"))
    assert result.outcomes[0].status.value == "skipped"
    assert result.outcomes[0].reason == "priority Notice is below Critical"


def test_a_write_error_is_a_failed_outcome_in_the_log(tmp_path: Path, logs: Logs) -> None:
    out = tmp_path / "alerts.jsonl"
    out.mkdir()  # a directory where the file should be
    (result,) = engine(out).handle(alert())
    assert result.outcomes[0].status.value == "failed"
    assert result.outcomes[0].reason == "could not write: Is a directory"
    assert [e["outcome"] for e in logs.events if e.get("event") == "action outcome"] == ["failed"]


def test_bad_parameters_stop_the_config_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        engine(tmp_path / "missing-dir" / "a.jsonl", min_priority="severe")
    assert "min_priority" in str(caught.value)


def test_the_installed_distribution_registers_the_action_type() -> None:
    from falco_response.plugins import build_plugin_manager

    action_type = build_plugin_manager().actions.get("__NAME__")
    assert action_type is not None and not action_type.destructive
