"""A failing state store is an outcome, never an exception: destructive actions fail closed,
notifications are still sent, a failing audit trail is logged and counted. Through
``Engine.handle``, ``falco-response handle`` and ``falco-response replay``, against real
SQLite files that cannot be opened or that another process keeps locked."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from falco_response import Engine, hookimpl
from falco_response.cli import main
from falco_response.state import StoreError, UnavailableStore
from falco_response.state.memory import MemoryStore

from .conftest import alert_dict

SENT: list[str] = []


class Actions:
    """``zap`` (destructive) and ``tell`` (a notifier that records what it was told)."""

    @hookimpl
    def register_actions(self, register: Any) -> None:
        register("zap", lambda p: self._zap, destructive=True)
        register("tell", lambda p: self._tell, blocking=False)

    def _zap(self, ctx: Any) -> Any:
        if ctx.dry_run:
            return ctx.would("would zap", target="pod:payments/api-1")
        return ctx.ok(target="pod:payments/api-1", reason="zapped")

    def _tell(self, ctx: Any) -> Any:
        SENT.append("; ".join(f"{o.action}={o.status.value}" for o in ctx.previous))
        return ctx.ok(reason="told")


@pytest.fixture(autouse=True)
def _clear() -> None:
    SENT.clear()


def config(store: str, **settings: Any) -> dict[str, Any]:
    return {"version": 1,
            "settings": {"store": store, "limits": {"destructive": {"max": 3, "per": "10m"}},
                         **settings},
            "responses": [{"name": "contain", "cooldown": "10m",
                           "actions": [{"type": "zap"}, {"type": "tell"}]}]}


def pod_alert(pod: str = "api-1") -> dict[str, Any]:
    data = alert_dict()
    data["output_fields"] = {**data["output_fields"], "k8s.ns.name": "payments",
                             "k8s.pod.name": pod}
    return data


def garbage(tmp_path: Path) -> str:
    path = tmp_path / "state.db"
    path.write_bytes(os.urandom(4096))
    return f"sqlite://{path}"


def under_a_file(tmp_path: Path) -> str:
    (tmp_path / "not-a-dir").write_text("x")
    return f"sqlite://{tmp_path}/not-a-dir/state.db"


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[str]:
    """A rollback-journal database another connection holds an exclusive lock on."""
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode = DELETE")
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    yield f"sqlite://{path}?timeout=0.2"
    holder.execute("ROLLBACK")
    holder.close()


@pytest.fixture
def busy(tmp_path: Path) -> Iterator[str]:
    """A working store (opens fine) whose writes another process keeps locked."""
    path = tmp_path / "busy.db"
    from falco_response.state.sqlite import SQLiteStore

    SQLiteStore(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    yield f"sqlite://{path}?timeout=0.2"
    holder.execute("ROLLBACK")
    holder.close()


def unopenable(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "garbage":
        return garbage(tmp_path)
    if kind == "under-a-file":
        return under_a_file(tmp_path)
    if kind == "read-only":
        if os.geteuid() == 0:
            pytest.skip("root ignores file modes; garbage and locked files cover the same path")
        path = tmp_path / "ro" / "state.db"
        path.parent.mkdir()
        sqlite3.connect(path).execute("PRAGMA journal_mode = DELETE").close()
        path.chmod(0o444)
        path.parent.chmod(0o555)
        return f"sqlite://{path}"
    return str(request.getfixturevalue(kind))


KINDS = ["garbage", "under-a-file", "read-only", "locked", "busy"]


def build(cfg: dict[str, Any], store: Any = None) -> Engine:
    return Engine.from_config(cfg, plugins=[Actions()], entry_points=False, store=store)


def assert_failed_closed_and_told(outcomes: list[dict[str, Any]]) -> None:
    zap, tell = outcomes
    assert zap["status"] == "failed"
    assert zap["reason"].startswith("state store unavailable, not acting without the ")
    assert zap["target"].startswith("pod:payments/")
    assert tell["status"] == "ok"


@pytest.mark.parametrize("kind", KINDS)
def test_engine_handle_fails_closed_and_still_notifies(
        kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    engine = build(config(unopenable(kind, tmp_path, request)))
    for pod in ("api-1", "api-2"):
        (result,) = engine.handle(json.dumps(pod_alert(pod)))
        assert result.alert is not None and not result.ok
        assert_failed_closed_and_told([o.to_dict() for o in result.outcomes])
    assert SENT == ["zap=failed", "zap=failed"]
    assert engine.failures >= 2


def test_a_store_that_opens_later_is_used_once_it_does(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import falco_response.engine as engine_module

    bad = tmp_path / "state.db"
    bad.write_bytes(b"not a database, not at all" * 100)
    engine = build(config(f"sqlite://{bad}"))
    assert engine.handle(pod_alert())[0].outcomes[0].status.value == "failed"
    bad.unlink()
    monkeypatch.setattr(engine_module, "_REOPEN_EVERY", 0.0)
    assert engine.handle(pod_alert())[0].outcomes[0].status.value == "ok"
    assert not isinstance(engine.store, UnavailableStore)


class FailsAt(MemoryStore):
    """A memory store whose named operation raises (a backend that breaks mid-way)."""

    def __init__(self, operation: str, exc: Exception | None = None) -> None:
        super().__init__()
        self.operation = operation
        self.exc = exc or StoreError("connection reset")
        self.released: list[str] = []

    def claim(self, key: str, ttl_seconds: float) -> bool:
        if self.operation == "claim" or (self.operation == "limit" and key.startswith("limit:")):
            raise self.exc
        return super().claim(key, ttl_seconds)

    def take(self, key: str) -> int:
        if self.operation == "take":
            raise self.exc
        return super().take(key)

    def release(self, key: str) -> None:
        self.released.append(key)
        super().release(key)

    def record(self, records: Any, ttl_seconds: float) -> None:
        if self.operation == "record":
            raise self.exc
        super().record(records, ttl_seconds)


@pytest.mark.parametrize("operation, check", [("claim", "cooldown"), ("take", "cooldown"),
                                              ("limit", "blast-radius")])
@pytest.mark.parametrize("exc", [StoreError("connection reset"), OSError("EIO"),
                                 RuntimeError("a backend bug")], ids=["store", "os", "bug"])
def test_a_store_failing_mid_way_fails_closed(operation: str, check: str, exc: Exception) -> None:
    store = FailsAt(operation, exc)
    engine = build(config("memory://"), store)
    (result,) = engine.handle(pod_alert())
    zap, tell = result.outcomes
    assert zap.status.value == "failed", zap
    assert zap.reason is not None and zap.reason.startswith(
        f"state store unavailable, not acting without the {check} check: ")
    assert tell.status.value == "ok" and SENT == ["zap=failed"]
    # What was claimed before the failure is given back, so a redelivery can act.
    if operation != "claim":
        assert any(k.startswith("cooldown:") for k in store.released)
        assert not store.held(store.released[0])


def test_a_failing_limit_gives_back_the_slots_already_taken() -> None:
    class SecondLimitFails(MemoryStore):
        def claim(self, key: str, ttl_seconds: float) -> bool:
            if key.startswith("limit:zap:"):
                raise StoreError("throttled")
            return super().claim(key, ttl_seconds)

    store = SecondLimitFails()
    cfg = config("memory://")
    cfg["settings"]["limits"]["zap"] = {"max": 2, "per": "10m"}
    engine = build(cfg, store)
    (result,) = engine.handle(pod_alert())
    assert result.outcomes[0].status.value == "failed"
    assert not store.held("limit:destructive:0")
    assert [store.claim(f"limit:destructive:{i}", 60) for i in range(3)] == [True] * 3


def test_audit_failure_is_logged_and_counted_and_fails_nothing(tmp_path: Path) -> None:
    store = FailsAt("record")
    store.url = "memory://failing-trail"  # a store that keeps a trail, as far as the engine knows
    engine = build(config("memory://", audit={"retention": "1d"}), store)
    (result,) = engine.handle(pod_alert())
    assert [o.status.value for o in result.outcomes] == ["ok", "ok"] and result.ok
    assert SENT == ["zap=ok"] and engine.failures == 1


def test_a_notifier_runs_without_its_cooldown_when_the_store_fails() -> None:
    engine = build({"version": 1, "responses": [
        {"name": "n", "cooldown": "10m", "actions": [{"type": "tell"}]}]}, FailsAt("claim"))
    for _ in range(2):
        assert [o.status.value for o in engine.handle(pod_alert())[0].outcomes] == ["ok"]
    assert len(SENT) == 2


def test_handle_never_raises_whatever_a_hook_does() -> None:
    engine = build({"version": 1, "responses": [{"name": "r", "actions": [{"type": "tell"}]}]})

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise MemoryError("out of luck")

    engine.matching = explode  # type: ignore[method-assign]
    batch = {"Records": [{"messageId": "m1", "body": json.dumps(pod_alert())},
                         {"messageId": "m2", "body": "not json"}]}
    results = engine.handle(batch)
    assert [(r.message_id, r.ok) for r in results] == [("m1", False), ("m2", False)]
    assert results[0].error == "handling failed: MemoryError: out of luck"


# -- through the command line ----------------------------------------------------------


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """Run ``falco-response`` in this process with the test's action types installed."""
    import falco_response.loading as loading

    original = loading.build_plugin_manager

    def with_actions(plugins: Any = (), **kwargs: Any) -> Any:
        extra = [] if any(isinstance(p, Actions) for p in plugins) else [Actions()]
        return original([*plugins, *extra], **kwargs)

    monkeypatch.setattr(loading, "build_plugin_manager", with_actions)
    monkeypatch.setattr("gc.freeze", lambda: None)
    monkeypatch.setenv("FALCO_RESPONSE_LOG_LEVEL", "error")

    def run(*args: str, stdin: bytes = b"") -> tuple[int, list[dict[str, Any]], str]:
        fake = io.TextIOWrapper(io.BytesIO(stdin))
        monkeypatch.setattr(sys, "stdin", fake)
        capsys.readouterr()  # what the test itself logged before
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, [json.loads(line) for line in out.splitlines() if line.strip()], err
    yield run
    import structlog

    structlog.reset_defaults()  # the CLI logged to capsys's stream, closed after the test


def write(tmp_path: Path, cfg: dict[str, Any]) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


@pytest.mark.parametrize("kind", ["garbage", "locked", "busy"])
def test_cli_handle_fails_closed_and_goes_on(kind: str, tmp_path: Path, cli: Any,
                                             request: pytest.FixtureRequest) -> None:
    cfg = write(tmp_path, config(unopenable(kind, tmp_path, request)))
    lines = b"".join(json.dumps(pod_alert(p)).encode() + b"\n" for p in ("a", "b", "c"))
    code, out, _ = cli("handle", "--config", cfg, stdin=lines)
    assert code == 1 and len(out) == 3
    for result in out:
        assert_failed_closed_and_told(result["outcomes"])
    assert len(SENT) == 3


@pytest.mark.parametrize("kind", ["garbage", "locked", "busy"])
def test_cli_replay_fails_closed_and_goes_on(kind: str, tmp_path: Path, cli: Any,
                                             request: pytest.FixtureRequest) -> None:
    url = unopenable(kind, tmp_path, request)
    cfg = write(tmp_path, config(url))
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_text("".join(json.dumps(pod_alert(p)) + "\n" for p in ("a", "b")))
    code, out, _ = cli("replay", str(alerts), "--config", cfg, "--json", "--store", url)
    assert code == 1 and len(out) == 2
    for result in out:
        assert_failed_closed_and_told(result["outcomes"])
    assert len(SENT) == 2
