"""No accepted alert lost: an alert whose handling raised is never acknowledged as done. It
is tried again with backoff and, after its last try, kept in the queue file's dead-letter
table, visible in /metrics and through `falco-response dead-letters`, which re-drives it.
Threads mode and the action process alike, over a real server and real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from server_helpers import Client, Running, alert, config, recorded, start_in_thread, wait_for

import recorder_plugin
from falco_response import Engine
from falco_response.server import DurableQueue, Metrics, ServerOptions
from falco_response.server.action_process import ActionProcess
from falco_response.server.app import build_receiver
from falco_response.server.dead_letters import RetryPolicy
from falco_response.server.run import Listen
from falco_response.server.workers import Workers

HERE = Path(__file__).parent
CLI = str(Path(sys.executable).parent / "falco-response")
FAST = RetryPolicy(max_attempts=3, backoff=0.05, max_backoff=0.2)


def metric(port: int, name: str) -> float:
    text = Client(port).get("/metrics")[2]
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def dead_letters(queue: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "dead-letters", *args, "--queue", str(queue)],
                          capture_output=True, text=True, timeout=60)


class Raising:
    """``engine.handle`` that raises for alerts holding ``raise-me``, the first ``times``
    times: the belt-and-braces path, a failure that escaped every guard of the engine."""

    def __init__(self, engine: Engine, times: int) -> None:
        self.engine = engine
        self.times = times
        self.calls = 0

    def __call__(self, body: bytes) -> Any:
        if b"raise-me" in body:
            self.calls += 1
            if self.calls <= self.times:
                raise RuntimeError("boom for the test")
        return self.engine.handle(body)


@pytest.fixture
def threads_server(tmp_path: Path) -> Iterator[Callable[..., tuple[Running, Raising]]]:
    started: list[Running] = []

    def start(times: int) -> tuple[Running, Raising]:
        record = tmp_path / "record.txt"
        metrics = Metrics()
        engine = Engine.from_config(config(record), plugins=[recorder_plugin, metrics],
                                    entry_points=False)
        queue = DurableQueue(tmp_path / "q.db")
        raising = Raising(engine, times)
        pool = Workers(queue, raising, count=2, log=engine.log, retry=FAST, metrics=metrics)
        receiver = build_receiver(engine, metrics, queue, pool=pool,
                                  options=ServerOptions(drain_timeout=5, retry=FAST))
        running = start_in_thread(receiver, Listen(), record)
        started.append(running)
        return running, raising

    yield start
    for running in started:
        running.stop()


def test_threads_mode_retries_then_succeeds_without_losing_the_alert(threads_server) -> None:  # type: ignore[no-untyped-def]
    running, raising = threads_server(times=2)
    assert running.client().post(alert("raise-me-1"))[0] == 202
    wait_for(lambda: recorded(running.record) == ["raise-me-1"], 30, "the third try")
    assert raising.calls == 3
    assert metric(running.port, "falco_response_alert_retries_total") == 2
    assert metric(running.port, "falco_response_dead_letters") == 0


def test_threads_mode_dead_letters_after_the_last_try_and_redrives(threads_server,  # type: ignore[no-untyped-def]
                                                                   tmp_path: Path) -> None:
    running, raising = threads_server(times=3)
    client = running.client()
    assert client.post(alert("raise-me-2"))[0] == 202
    assert client.post(alert("fine"))[0] == 202
    wait_for(lambda: metric(running.port, "falco_response_dead_letters") == 1, 30,
             "the dead letter")
    assert recorded(running.record) == ["fine"]
    assert metric(running.port, "falco_response_alert_retries_total") == 2
    assert metric(running.port, "falco_response_alerts_dead_lettered_total") == 1
    assert len(running.receiver.queue) == 0  # not in the live queue, not acked as done

    listed = dead_letters(tmp_path / "q.db", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert row["attempts"] == 3 and row["error"] == "RuntimeError: boom for the test"
    assert json.loads(row["body"])["uuid"] == "raise-me-2" and row["redrive"] is False
    text = dead_letters(tmp_path / "q.db", "list").stdout
    assert "RuntimeError: boom for the test" in text and "dead" in text

    redriven = dead_letters(tmp_path / "q.db", "redrive", str(row["id"]))
    assert redriven.returncode == 0 and "1 dead letter marked for redrive" in redriven.stdout
    # the running server takes it back (the fourth try succeeds)
    wait_for(lambda: "raise-me-2" in recorded(running.record), 30, "the redriven alert")
    wait_for(lambda: metric(running.port, "falco_response_dead_letters") == 0, 30,
             "the gauge to drop")
    assert dead_letters(tmp_path / "q.db", "list").stdout.strip() == "no dead letters"


def test_dead_letters_survive_a_restart_and_drop_removes_them(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path / "q.db")
    queue.put(b'{"x": 1}', timeout=5)
    item = queue.take(timeout=1)
    assert item is not None
    assert queue.dead_letter(item, "RuntimeError: kept")
    queue.stop()
    again = DurableQueue(tmp_path / "q.db")
    assert again.recovered == 0 and again.dead_letters == 1
    again.stop()
    assert dead_letters(tmp_path / "q.db", "drop").returncode == 2  # ids or --all
    dropped = dead_letters(tmp_path / "q.db", "drop", "--all", "--json")
    assert json.loads(dropped.stdout) == {"drop": 1}
    assert dead_letters(tmp_path / "q.db", "list", "--json").stdout == ""


def test_the_cli_never_creates_a_queue_file(tmp_path: Path) -> None:
    result = dead_letters(tmp_path / "none.db", "list")
    assert result.returncode == 2 and "no queue file at" in result.stderr
    assert not (tmp_path / "none.db").exists()


def _child_server(tmp_path: Path, times: int) -> tuple[Running, ActionProcess]:
    record = tmp_path / "record.txt"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(json.dumps(config(record)))
    metrics = Metrics()
    engine = Engine.from_config(config(record), plugins=[recorder_plugin, metrics],
                                entry_points=False)
    queue = DurableQueue(tmp_path / "q.db")
    site = tmp_path / "site" / "falco_response_recorder-0.1.dist-info"
    site.mkdir(parents=True)
    (site / "METADATA").write_text("Metadata-Version: 2.1\nName: falco-response-recorder\n"
                                   "Version: 0.1\n")
    (site / "entry_points.txt").write_text("[falco_response]\nrecorder = recorder_plugin\n")
    env = {**os.environ, "RAISE_TIMES": str(times), "RAISE_COUNT": str(tmp_path / "count"),
           "PYTHONPATH": os.pathsep.join([str(site.parent), str(HERE),
                                          os.environ.get("PYTHONPATH", "")])}
    pool = ActionProcess(queue, metrics, [sys.executable, str(HERE / "raising_child.py"),
                                          "--config", str(cfg), "--workers", "1"],
                         log=engine.log, env=env, retry=FAST)
    receiver = build_receiver(engine, metrics, queue, pool=pool,
                              options=ServerOptions(drain_timeout=5, retry=FAST))
    return start_in_thread(receiver, Listen(), record), pool


@pytest.mark.parametrize("times, dead", [(2, 0), (3, 1)])
def test_the_action_process_reports_a_raise_and_intake_retries_or_dead_letters(
        tmp_path: Path, times: int, dead: int) -> None:
    running, _ = _child_server(tmp_path, times)
    try:
        assert running.client().post(alert("raise-me-3"))[0] == 202
        assert running.client().post(alert("other"))[0] == 202
        if dead:
            wait_for(lambda: metric(running.port, "falco_response_dead_letters") == 1, 60,
                     "the dead letter")
            assert recorded(running.record) == ["other"]
            [row] = [json.loads(line) for line in
                     dead_letters(tmp_path / "q.db", "list", "--json").stdout.splitlines()]
            assert row["error"] == "RuntimeError: boom for the test" and row["attempts"] == 3
        else:
            wait_for(lambda: sorted(recorded(running.record)) == ["other", "raise-me-3"], 60,
                     "the third try")
        assert (tmp_path / "count").read_text() == "x" * 3
        assert metric(running.port, "falco_response_alert_retries_total") == 2
        wait_for(lambda: len(running.receiver.queue) == 0, 30, "the queue to empty")
    finally:
        running.stop()
