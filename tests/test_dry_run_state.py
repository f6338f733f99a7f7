"""Dry runs never change shared state: they read cooldowns and limits to say what a live run
would meet, and write no claim, counter or live audit record. Every audit record says truly
whether it was a dry run. ``replay`` and ``audit`` never create or share a store by accident."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from falco_response import Engine
from falco_response.state import open_store
from falco_response.state.sqlite import SQLiteStore

from .test_failsafe_store import (SENT, Actions, _clear, cli,  # noqa: F401 - fixtures
                                  pod_alert)

LIMITS = {"destructive": {"max": 3, "per": "10m"}}


def cfg(store: str | None, *, dry_run: bool = False, audit: bool = True) -> dict[str, Any]:
    settings: dict[str, Any] = {"limits": LIMITS, "dry_run": dry_run}
    if store:
        settings["store"] = store
    if not audit:
        settings["audit"] = {"enabled": False}
    return {"version": 1, "settings": settings,
            "responses": [{"name": "contain", "cooldown": "10m",
                           "actions": [{"type": "zap"}, {"type": "tell"}]}]}


def build(config: dict[str, Any], **kwargs: Any) -> Engine:
    return Engine.from_config(config, plugins=[Actions()], entry_points=False, **kwargs)


def snapshot(path: Path) -> dict[str, list[Any]]:
    db = sqlite3.connect(path)
    try:
        return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall())  # noqa: S608
                for t in ("claims", "counters", "audit")}
    finally:
        db.close()


def reasons(engine: Engine, *pods: str) -> list[tuple[str, str]]:
    out = []
    for pod in pods:
        (result,) = engine.handle(pod_alert(pod))
        zap = result.outcomes[0]
        out.append((zap.status.value, zap.reason or ""))
    return out


def test_a_dry_run_reads_live_state_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    live = build(cfg(f"sqlite://{path}"))
    assert [s for s, _ in reasons(live, "p0", "p1")] == ["ok", "ok"]
    live.close()
    before = snapshot(path)
    dry = build(cfg(f"sqlite://{path}"), dry_run=True)
    said = reasons(dry, "p0", "p2", "p2", "p3", "p4")
    assert said == [
        ("skipped", "dry run: would be suppressed by a cooldown: already ran for this rule "
                    "and target within 10m"),
        ("dry_run", "would zap"),
        ("skipped", "dry run: would be suppressed by a cooldown: this dry run already ran it "
                    "for this rule and target within 10m"),
        ("skipped", "dry run: would exceed the limit: blast_radius: containment paused: 3 "
                    "destructive actions in 10m (settings.limits.destructive)"),
        ("skipped", "dry run: would exceed the limit: blast_radius: containment paused: 3 "
                    "destructive actions in 10m (settings.limits.destructive)"),
    ]
    dry.close()
    after = snapshot(path)
    assert after["claims"] == before["claims"] and after["counters"] == before["counters"]
    # The dry run's trail is kept (a dry-run week is read with `audit --status dry_run`),
    # every record marked as a dry run; nothing it wrote is a live record.
    new = [json.loads(r[2]) for r in after["audit"] if r not in before["audit"]]
    assert new and all(r["dry_run"] for r in new)
    # And the live engine is not held by anything the dry run did.
    live = build(cfg(f"sqlite://{path}"))
    assert reasons(live, "p2") == [("ok", "zapped")]


def test_every_audit_record_says_whether_it_was_a_dry_run(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    dry = build(cfg(f"sqlite://{path}", dry_run=True))
    for pod in ("p0", "p1", "p2", "p3"):
        dry.handle(pod_alert(pod))
    dry.close()
    live = build(cfg(f"sqlite://{path}"))
    live.handle(pod_alert("p9"))
    live.close()
    records = SQLiteStore(path).history(0)
    marks = {(r.action, r.status, r.target, r.dry_run) for r in records}
    assert ("zap", "dry_run", "pod:payments/api-1", True) in marks
    assert ("zap", "skipped", "pod:payments/p3", True) in marks  # the limit, in a dry run
    assert ("tell", "ok", None, True) in marks  # a dry run's notifier, recorded as dry
    assert {r.dry_run for r in records if r.uuid is None and r.target == "pod:payments/api-1"
            and r.status == "ok"} == {False}


def write(tmp_path: Path, config: dict[str, Any]) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def alerts_file(tmp_path: Path, *pods: str) -> str:
    path = tmp_path / "alerts.jsonl"
    path.write_text("".join(json.dumps(pod_alert(p)) + "\n" for p in pods))
    return str(path)


def test_replay_dry_run_writes_nothing_to_the_configs_store(tmp_path: Path, cli: Any) -> None:
    path = tmp_path / "state.db"
    live = build(cfg(f"sqlite://{path}"))
    reasons(live, "p0")
    live.close()
    before = snapshot(path)
    code, out, _ = cli("replay", alerts_file(tmp_path, "p0", "p1", "p1"), "--config",
                       write(tmp_path, cfg(f"sqlite://{path}")), "--dry-run", "--json")
    assert code == 0
    assert [o["outcomes"][0]["status"] for o in out] == ["skipped", "dry_run", "skipped"]
    assert "already ran" in out[0]["outcomes"][0]["reason"]
    assert snapshot(path) == before


def test_replay_dry_run_never_creates_a_store(tmp_path: Path, cli: Any) -> None:
    missing = tmp_path / "not-yet" / "state.db"
    code, out, _ = cli("replay", alerts_file(tmp_path, "p0"), "--config",
                       write(tmp_path, cfg(f"sqlite://{missing}")), "--dry-run", "--json")
    assert code == 0 and out[0]["outcomes"][0]["status"] == "dry_run"
    assert not missing.parent.exists()


def test_handle_dry_run_writes_nothing(tmp_path: Path, cli: Any) -> None:
    path = tmp_path / "state.db"
    SQLiteStore(path).close()
    before = snapshot(path)
    lines = b"".join(json.dumps(pod_alert(p)).encode() + b"\n" for p in ("a", "b", "a"))
    code, out, _ = cli("handle", "--config", write(tmp_path, cfg(f"sqlite://{path}")),
                       "--dry-run", stdin=lines)
    assert code == 0 and [o["outcomes"][0]["status"] for o in out] == [
        "dry_run", "dry_run", "skipped"]
    assert snapshot(path) == before


def test_a_live_replay_must_name_the_store_it_shares(tmp_path: Path, cli: Any) -> None:
    path = tmp_path / "state.db"
    config = write(tmp_path, cfg(f"sqlite://{path}"))
    alerts = alerts_file(tmp_path, "p0", "p0")
    code, out, err = cli("replay", alerts, "--config", config, "--json")
    assert code == 2 and out == [] and SENT == []
    assert f"pass --store sqlite://{path}" in err and not path.exists()
    code, out, _ = cli("replay", alerts, "--config", config, "--json", "--store", "memory://")
    assert code == 0 and [o["outcomes"][0]["status"] for o in out] == ["ok", "skipped"]
    assert not path.exists()
    code, out, _ = cli("replay", alerts, "--config", config, "--json",
                       "--store", f"sqlite://{path}")
    assert code == 0 and [o["outcomes"][0]["status"] for o in out] == ["ok", "skipped"]
    assert [r.status for r in SQLiteStore(path).history(0)] == ["ok", "ok"]


def test_a_live_replay_of_a_config_without_a_store_needs_no_flag(tmp_path: Path,
                                                                cli: Any) -> None:
    code, out, _ = cli("replay", alerts_file(tmp_path, "p0"), "--config",
                       write(tmp_path, cfg(None)), "--json")
    assert code == 0 and out[0]["outcomes"][0]["status"] == "ok"


def audit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "falco_response", "audit", *args],
                          capture_output=True, text=True, timeout=60)


def test_audit_opens_no_store_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "x.db"
    done = audit("--store", f"sqlite://{missing}")
    assert done.returncode == 3 and f"no such store: {missing} does not exist" in done.stderr
    assert not missing.parent.exists()
    config = write(tmp_path, {"version": 1, "settings": {"store": f"sqlite://{missing}"}})
    done = audit("--config", config)
    assert done.returncode == 3 and "no such store" in done.stderr
    assert not missing.parent.exists()


def test_audit_reads_a_store_without_writing_it(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    live = build(cfg(f"sqlite://{path}"))
    reasons(live, "p0")
    live.close()
    before = snapshot(path)
    path.chmod(0o444)
    done = audit("--store", f"sqlite://{path}", "--json")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2
    assert snapshot(path) == before
    with pytest.raises(Exception, match="readonly"):
        open_store(f"sqlite://{path}", read_only=True).claim("k", 1)
