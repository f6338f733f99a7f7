"""The redis store under the engine: a server that is down makes destructive actions fail
closed while notifications go out, the password never reaches a log, and two engines (a
replica with a clock a day ahead among them) share one limit."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import pytest

import recorder_plugin
from falco_response import Engine
from falco_response.logs import configure_logging
from redis_server import PASSWORD, RedisServer, free_port
from server_helpers import alert, recorded


def cfg(store: str, tmp_path: Path, **settings: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "settings": {"store": store, "log_level": "info", **settings},
        "actions": {
            "tell": {"type": "record", "with": {"path": str(tmp_path / "told.txt")},
                     "cooldown": "10m"},
            "kill": {"type": "record-destructive", "with": {"path": str(tmp_path / "killed.txt")},
                     "cooldown": "10m"},
        },
        "responses": [{"name": "contain", "actions": ["tell", "kill"]}],
    }


def statuses(engine: Engine, payload: bytes) -> dict[str, str]:
    (result,) = engine.handle(payload)
    return {o.action: o.status.value for o in result.outcomes}


def test_redis_down_destructive_fails_closed_notification_goes_out_no_secret_logged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_PW", PASSWORD)
    store = f"redis://:${{REDIS_PW}}@127.0.0.1:{free_port()}/0?timeout=1"
    engine = Engine.from_config(cfg(store, tmp_path), plugins=[recorder_plugin],
                                entry_points=False)
    logs = io.BytesIO()
    configure_logging("debug", stream=logs)
    try:
        (result,) = engine.handle(alert("u1"))
    finally:
        configure_logging("error")
        engine.close()
    got = {o.action: o for o in result.outcomes}
    assert got["tell"].status.value == "ok"
    assert got["kill"].status.value == "failed"
    assert "state store unavailable" in (got["kill"].reason or "")
    assert recorded(tmp_path / "told.txt") == ["u1"]
    assert recorded(tmp_path / "killed.txt") == []
    text = logs.getvalue().decode()
    assert "state store unavailable" in text
    everything = text + json.dumps([o.reason for o in result.outcomes])
    assert PASSWORD not in everything


def test_two_engines_one_a_day_ahead_share_cooldowns_and_a_limit(
        redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = {"limits": {"destructive": {"max": 2, "per": "1h"}}}
    honest = Engine.from_config(cfg(redis_url, tmp_path, **settings),
                                plugins=[recorder_plugin], entry_points=False)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 86400)
    skewed = Engine.from_config(cfg(redis_url, tmp_path, **settings),
                                plugins=[recorder_plugin], entry_points=False)
    try:
        assert statuses(honest, alert("a")) == {"tell": "ok", "kill": "ok"}
        same_pod = {"k8s.ns.name": "payments", "k8s.pod.name": "api-a", "proc.name": "sh"}
        assert statuses(skewed, alert("a2", output_fields=same_pod)) == {"tell": "skipped", "kill": "skipped"}
        assert statuses(skewed, alert("b")) == {"tell": "ok", "kill": "ok"}
        (third,) = skewed.handle(alert("c"))
        kill = next(o for o in third.outcomes if o.action == "kill")
        assert kill.status.value == "skipped" and "blast_radius" in (kill.reason or "")
    finally:
        honest.close()
        skewed.close()
    assert recorded(tmp_path / "killed.txt") == ["a", "b"]


def test_the_engine_fails_closed_while_redis_restarts_then_works_again(
        tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    server.start()
    engine = Engine.from_config(cfg(server.url + "?timeout=1", tmp_path),
                                plugins=[recorder_plugin], entry_points=False)
    try:
        assert statuses(engine, alert("a")) == {"tell": "ok", "kill": "ok"}
        server.stop()
        assert statuses(engine, alert("b")) == {"tell": "ok", "kill": "failed"}
        server.start()
        # An empty server (no persistence here; the deployment keeps an AOF on a volume).
        assert statuses(engine, alert("c")) == {"tell": "ok", "kill": "ok"}
        same_pod = {"k8s.ns.name": "payments", "k8s.pod.name": "api-c", "proc.name": "sh"}
        assert statuses(engine, alert("d", output_fields=same_pod)) == {"tell": "skipped", "kill": "skipped"}
    finally:
        engine.close()
        server.stop()
