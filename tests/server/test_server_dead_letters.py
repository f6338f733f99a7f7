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
from falco_response.server.app import build_receiver
from falco_response.server.dead_letters import RetryPolicy
from falco_response.server.run import Listen
from falco_response.server.runner import Reporter
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
    """An engine whose ``handle_alerts`` raises for alerts holding ``raise-me``, the first
    ``times`` times: the belt-and-braces path, a failure that escaped every guard of the
    engine."""

    def __init__(self, engine: Engine, times: int) -> None:
        self.engine = engine
        self.plugins = engine.plugins
        self.times = times
        self.calls = 0

    def handle_alerts(self, parsed: Any) -> Any:
        parsed = list(parsed)
        if any("raise-me" in (alert.uuid or "") for _, alert in parsed):
            self.calls += 1
            if self.calls <= self.times:
                raise RuntimeError("boom for the test")
        return self.engine.handle_alerts(parsed)


@pytest.fixture
def threads_server(tmp_path: Path) -> Iterator[Callable[..., tuple[Running, Raising]]]:
    started: list[Running] = []

    def start(times: int) -> tuple[Running, Raising]:
        record = tmp_path / "record.txt"
        metrics = Metrics()
        engine = Engine.from_config(config(record), plugins=[recorder_plugin],
                                    entry_points=False)
        queue = DurableQueue(tmp_path / "q.db")
        raising = Raising(engine, times)
        reporter = Reporter(queue, log=engine.log, metrics=metrics, retry=FAST)
        pool = Workers(queue, raising, reporter, count=2)  # type: ignore[arg-type]
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


@pytest.mark.parametrize("actions_in", ["threads", "process"])
def test_the_serve_command_retries_dead_letters_and_redrives(tmp_path: Path, spawn,  # type: ignore[no-untyped-def]
                                                             plugin_env, actions_in: str) -> None:
    """`falco-response serve` itself, with --max-attempts and --retry-backoff."""
    record = tmp_path / "record.txt"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(json.dumps(config(record)))
    queue = tmp_path / "q.db"
    env = {"RAISE_TIMES": "2", "RAISE_COUNT": str(tmp_path / "count"),
           "PYTHONPATH": os.pathsep.join([str(HERE / "raising"), plugin_env["PYTHONPATH"]])}
    proc = spawn(cfg, "--queue", str(queue), "--actions-in", actions_in, "--max-attempts", "2",
                 "--retry-backoff", "0.05", env=env)
    proc.wait_ready()
    assert Client(proc.port).post(alert("raise-me-4"))[0] == 202
    wait_for(lambda: metric(proc.port, "falco_response_dead_letters") == 1, 60,
             "the dead letter")
    assert (tmp_path / "count").read_text() == "xx" and recorded(record) == []
    assert metric(proc.port, "falco_response_alert_retries_total") == 1
    [row] = [json.loads(line) for line in
             dead_letters(queue, "list", "--json").stdout.splitlines()]
    assert row["attempts"] == 2 and row["error"] == "RuntimeError: boom for the test"
    assert dead_letters(queue, "redrive", "--all").returncode == 0
    wait_for(lambda: recorded(record) == ["raise-me-4"], 60, "the redriven alert")
    wait_for(lambda: metric(proc.port, "falco_response_dead_letters") == 0, 30, "the gauge")
    log = proc.log.read_text()
    assert "alert moved to the dead-letter table" in log and "Traceback" not in log


def test_the_backoff_doubles_up_to_its_cap_and_bad_policies_are_refused() -> None:
    policy = RetryPolicy(max_attempts=5, backoff=1.0, max_backoff=5.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    for bad in ({"max_attempts": 0}, {"backoff": -1.0}, {"backoff": 10.0, "max_backoff": 1.0}):
        with pytest.raises(ValueError):
            RetryPolicy(**bad)  # type: ignore[arg-type]


def test_serve_refuses_a_bad_retry_or_limit_option(tmp_path: Path, spawn) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "c.yaml"
    cfg.write_text(json.dumps(config(tmp_path / "rec")))
    for option in (["--max-attempts", "0"], ["--header-limit", "0"],
                   ["--header-timeout", "0"], ["--max-connections", "0"]):
        proc = spawn(cfg, "--queue", str(tmp_path / "q.db"), *option)
        assert proc.finish() == 2, option


def test_a_poison_alert_that_kills_the_action_process_is_dead_lettered_alone(
        tmp_path: Path, spawn, plugin_env) -> None:  # type: ignore[no-untyped-def]
    """Each death counts against the alerts the child held; they are then sent one at a
    time, so only the alert that kills the child runs out of tries, and the pool lives on."""
    record = tmp_path / "record.txt"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(json.dumps(config(record, delay_ms=50)))
    queue = tmp_path / "q.db"
    env = {"KILL_ME": "9", "RAISE_TIMES": "0", "RAISE_COUNT": str(tmp_path / "count"),
           "PYTHONPATH": os.pathsep.join([str(HERE / "raising"), plugin_env["PYTHONPATH"]])}
    proc = spawn(cfg, "--queue", str(queue), "--max-attempts", "3", "--retry-backoff", "0.05",
                 "--workers", "2", env=env)
    proc.wait_ready()
    client = Client(proc.port)
    others = [f"other-{i}" for i in range(6)]
    for uuid in [others[0], "kill-me", *others[1:]]:
        assert client.post(alert(uuid))[0] == 202
    wait_for(lambda: metric(proc.port, "falco_response_dead_letters") == 1, 60,
             "the poison alert's dead letter")
    wait_for(lambda: sorted(recorded(record)) == sorted(others), 60, "every other alert")
    assert (tmp_path / "count").read_text() == "kkk"  # three tries, three deaths
    [row] = [json.loads(line) for line in
             dead_letters(queue, "list", "--json").stdout.splitlines()]
    assert json.loads(row["body"])["uuid"] == "kill-me" and row["attempts"] == 3
    assert row["error"] == "the action process exited with 9 while handling it"
    assert client.get("/healthz")[0] == 200  # the pool did not give up
    assert client.post(alert("later"))[0] == 202
    wait_for(lambda: "later" in recorded(record), 30, "an alert after the poison one")
