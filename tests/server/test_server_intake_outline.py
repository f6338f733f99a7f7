"""Intake needs the parsers and which actions are destructive, never the actions themselves:
it reads an outline of the config (``falco_response.outline``) and calls no action factory;
the engine that acts is built where the actions run."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from server_helpers import (TOKEN, Client, Running, alert, config, recorded, start_in_thread,
                            wait_for, write_yaml)

import recorder_plugin
from falco_response import ConfigError, Engine, hookimpl
from falco_response.outline import load_outline, outline_of
from falco_response.server import DurableQueue, Metrics, ServerOptions
from falco_response.server.app import intake_receiver
from falco_response.server.run import Listen, UnsafeConfig, check_auth
from falco_response.server.runner import Reporter
from falco_response.server.workers import Workers


class Params(msgspec.Struct, forbid_unknown_fields=True):
    path: str


class CountingFactory:
    """A destructive action type whose factory counts each call, and raises when told to
    (a factory that opens a client, reads a credential or dials a cluster at build time)."""

    def __init__(self, *, raises: bool = False) -> None:
        self.built = 0
        self.raises = raises
        self.lock = threading.Lock()

    @hookimpl
    def register_actions(self, register: Any) -> None:
        register("counted", self.make, params=Params, destructive=True, undo=self.make_undo)

    def make(self, params: Params) -> Any:
        with self.lock:
            self.built += 1
        if self.raises:
            raise RuntimeError("this factory must not run in intake")
        return recorder_plugin.make_record(recorder_plugin.RecordParams(path=params.path))

    def make_undo(self, params: Params) -> Any:
        if self.raises:
            raise RuntimeError("this undo factory must not run in intake")
        return lambda ctx: None


class FakeSlack:
    """An action type named ``slack`` (what an approval's ``via`` must be), never run here."""

    @hookimpl
    def register_actions(self, register: Any) -> None:
        register("slack", lambda params: None)


def counted_config(record: Path, **extra: Any) -> dict[str, Any]:
    return {"version": 1, "settings": {"log_level": "error"},
            "actions": {"zap": {"type": "counted", "with": {"path": str(record)}}},
            "responses": [{"name": "contain", "actions": ["zap"]}], **extra}


def test_the_outline_calls_no_action_factory_and_knows_what_is_destructive(
        tmp_path: Path) -> None:
    plugin = CountingFactory(raises=True)
    outline = load_outline(counted_config(tmp_path / "rec"), plugins=[plugin],
                           entry_points=False)
    assert plugin.built == 0
    assert outline.destructive_actions == ("contain/zap",)
    assert not outline.has_approvals
    assert outline.parsers.parse_alert(alert("u-1").decode()).uuid == "u-1"
    with pytest.raises(UnsafeConfig, match=r"destructive actions are configured \(contain/zap\)"):
        check_auth(outline.destructive_actions, Listen(), ServerOptions(),
                   insecure_no_auth=False, log=None)


def test_the_outline_still_validates_the_whole_config(tmp_path: Path) -> None:
    bad = counted_config(tmp_path / "rec")
    bad["actions"]["zap"]["with"] = {"path": str(tmp_path / "rec"), "colour": "red"}
    plugin = CountingFactory()
    with pytest.raises(ConfigError, match="colour"):
        load_outline(bad, plugins=[plugin], entry_points=False)
    assert plugin.built == 0


def test_an_engine_and_its_outline_agree(tmp_path: Path) -> None:
    plugin = CountingFactory()
    cfg = counted_config(tmp_path / "rec")
    engine = Engine.from_config(cfg, plugins=[plugin], entry_points=False)
    built = plugin.built
    outline = outline_of(engine)
    assert plugin.built == built == 1  # the engine's one build, none for its outline
    loaded = load_outline(cfg, plugins=[plugin], entry_points=False)
    assert (loaded.destructive_actions, loaded.has_approvals, loaded.log_level) == (
        outline.destructive_actions, outline.has_approvals, outline.log_level)
    assert plugin.built == 1


@pytest.fixture
def split_server(tmp_path: Path) -> Iterator[tuple[Running, CountingFactory, CountingFactory]]:
    """Intake on an outline (its own plugin object), the runner on an engine (another)."""
    record = tmp_path / "rec"
    at_intake, at_runner = CountingFactory(raises=True), CountingFactory()
    outline = load_outline(counted_config(record), plugins=[at_intake], entry_points=False)
    engine = Engine.from_config(counted_config(record), plugins=[at_runner],
                                entry_points=False)
    queue = DurableQueue(tmp_path / "q.db")
    metrics = Metrics()
    pool = Workers(queue, engine, Reporter(queue, log=engine.log, metrics=metrics), count=1)
    receiver = intake_receiver(outline, metrics, queue, pool,
                               options=ServerOptions(drain_timeout=5))
    assert receiver.approvals is None and receiver.close is None
    running = start_in_thread(receiver, Listen(), record)
    yield running, at_intake, at_runner
    running.stop()
    engine.close()


def test_intake_on_an_outline_queues_what_the_runner_acts_on(split_server) -> None:  # type: ignore[no-untyped-def]
    running, at_intake, at_runner = split_server
    client = running.client()
    for uuid in ("a-1", "a-2"):
        assert client.post(alert(uuid))[0] == 202
    wait_for(lambda: recorded(running.record) == ["a-1", "a-2"])
    assert at_intake.built == 0 and at_runner.built == 1


def test_approvals_need_the_engine_that_carries_them_out(tmp_path: Path) -> None:
    cfg = counted_config(tmp_path / "rec")
    cfg["responses"][0]["approval"] = {"via": "ask", "approvers": ["U024BE7LH"], "timeout": "5m"}
    cfg["actions"]["ask"] = {"type": "slack"}
    outline = load_outline(cfg, plugins=[CountingFactory(raises=True), FakeSlack()],
                           entry_points=False)
    assert outline.has_approvals
    queue = DurableQueue(tmp_path / "q.db")
    with pytest.raises(ValueError, match="approvals"):
        intake_receiver(outline, Metrics(), queue, Workers(queue, None, None, count=1),  # type: ignore[arg-type]
                        options=ServerOptions())
    queue.stop()


def test_serve_builds_each_action_once_in_the_action_process_only(tmp_path: Path, spawn) -> None:  # type: ignore[no-untyped-def]
    record, built = tmp_path / "rec", tmp_path / "built"
    cfg = write_yaml(tmp_path / "c.yaml", config(record, action_type="record-destructive",
                                                built_path=str(built)))
    proc = spawn(cfg, "--queue", str(tmp_path / "q.db"), env={"FALCO_RESPONSE_TOKENS": TOKEN})
    proc.wait_ready()
    assert Client(proc.port, token=TOKEN).post(alert("once"))[0] == 202
    wait_for(lambda: recorded(record) == ["once"])
    [child] = recorded(built)  # one build, by the child
    assert child != str(proc.proc.pid)
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.finish() == 0
    assert recorded(built) == [child]
