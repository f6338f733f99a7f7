"""settings.store is checked at load for every scheme: an unknown scheme, a malformed URL or a
missing extra is a config problem at ``settings.store``, from ``check`` and ``Engine``."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from falco_response import ConfigError, Engine
from falco_response.cli import main
from falco_response.state.urls import check_store_url


def config(store: str) -> dict[str, Any]:
    return {"version": 1, "settings": {"store": store},
            "responses": [{"name": "r", "actions": [{"type": "log"}]}]}


def store_problems(store: str) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        Engine.from_config(config(store), entry_points=False)
    return [(p.path, p.reason) for p in info.value.problems]


@pytest.mark.parametrize("store, reason", [
    ("bogus://x", "unknown scheme 'bogus://'"),
    ("not a url", "not a store URL"),
    ("sqlite://", "names no file"),
    ("dynamodb://", "names no table"),
    ("dynamodb://t?regoin=eu-west-1", "unknown option(s) regoin"),
    ("memory://somewhere", "memory:// takes no host"),
    ("redis://", "names no host"),
    ("redis://host:99999/0", "port is not a number from 1 to 65535"),
    ("redis://host:6379/zero", "database number"),
    ("redis://host/0?db=3", "unknown option(s) db"),
    ("redis://host/0?timeout=-1", "timeout must be a positive"),
])
def test_a_bad_store_url_is_a_load_problem_at_settings_store(store: str, reason: str) -> None:
    [(path, got)] = store_problems(store)
    assert path == "settings.store"
    assert reason in got


def test_a_missing_extra_is_a_load_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "redis" else real(name, *a))
    [(path, reason)] = store_problems("rediss://cache.internal:6380/0")
    assert path == "settings.store"
    assert "pip install 'falco-response[redis]'" in reason


def test_a_password_in_a_bad_url_is_not_echoed() -> None:
    for url in ("bogus://user:hunter2-secret@host/x", "redis://:hunter2/secret@host:6379/0",
                "redis://:hunter2@host:port/0"):
        reason = check_store_url(url) or ""
        assert reason and "hunter2" not in reason and "secret" not in reason, reason


def test_good_urls_pass() -> None:
    for url in ("memory://", "sqlite:///tmp/state.db"):
        assert check_store_url(url) is None


def test_check_reports_the_bad_store_and_exits_non_zero(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cfg.yaml"
    path.write_text(json.dumps(config("bogus://x")))
    code = main(["check", str(path)])
    err = capsys.readouterr()
    assert code != 0
    assert "settings.store" in err.out + err.err
    assert "unknown scheme" in err.out + err.err
