"""One path for an alert through `serve`: intake reads a payload once and queues its alerts
normalized; the runner hands them to the engine without parsing them again; a row queued by
an older version (the raw body) is still drained after an upgrade."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_helpers import Running, alert, config, recorded, start_in_thread, wait_for

import recorder_plugin
from falco_response import Engine, hookimpl
from falco_response.parsing import parse_message
from falco_response.reading import ParseFailure, read_payload
from falco_response.server import DurableQueue, Metrics, ServerOptions
from falco_response.server import queued
from falco_response.server.app import build_receiver
from falco_response.server.run import Listen


class CountingParser:
    """A parser plugin that counts every message it is offered, then reads it as the
    built-in parser does."""

    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    @hookimpl(tryfirst=True)
    def parse_alert(self, payload: Any) -> Any:
        with self.lock:
            self.calls += 1
        return parse_message(payload)


@pytest.fixture
def counted_server(tmp_path: Path) -> Iterator[tuple[Running, CountingParser, Path]]:
    record = tmp_path / "record.txt"
    parser = CountingParser()
    engine = Engine.from_config(config(record), plugins=[recorder_plugin, parser],
                                entry_points=False)
    queue_path = tmp_path / "q.db"
    queue = DurableQueue(queue_path)
    receiver = build_receiver(engine, Metrics(), queue, workers=2,
                              options=ServerOptions(drain_timeout=5))
    running = start_in_thread(receiver, Listen(), record)
    yield running, parser, queue_path
    running.stop()


def test_intake_reads_each_alert_once_and_the_runner_never_again(counted_server) -> None:  # type: ignore[no-untyped-def]
    running, parser, _ = counted_server
    client = running.client()
    batch = {"Records": [{"messageId": f"m-{i}", "body": alert(f"batch-{i}").decode()}
                         for i in range(3)]}
    assert client.post(alert("one"))[0] == 202
    assert client.post(json.dumps(batch).encode())[0] == 202
    wait_for(lambda: sorted(recorded(running.record)) == ["batch-0", "batch-1", "batch-2",
                                                          "one"], 30, "four alerts")
    assert parser.calls == 4  # one per message, at intake; none in the workers


def test_a_row_queued_by_the_old_version_is_still_drained(tmp_path: Path) -> None:
    record = tmp_path / "record.txt"
    engine = Engine.from_config(config(record), plugins=[recorder_plugin],
                                entry_points=False)
    queue = DurableQueue(tmp_path / "q.db")
    queue.put(alert("old-style"))  # what 0.1 queued: the request body as it came
    parsed = [(None, a) for _, a in read_payload(engine.plugins, alert("new-style"))]
    queue.put(queued.encode(parsed))  # type: ignore[arg-type]
    queue.stop()
    queue = DurableQueue(tmp_path / "q.db")  # the upgraded server starts on the same file
    assert queue.recovered == 2
    receiver = build_receiver(engine, Metrics(), queue, workers=1,
                              options=ServerOptions(drain_timeout=5))
    running = start_in_thread(receiver, Listen(), record)
    try:
        wait_for(lambda: recorded(record) == ["old-style", "new-style"], 30, "both rows")
        wait_for(lambda: len(queue) == 0, 30, "both rows acknowledged")
    finally:
        running.stop()


def test_a_queue_row_round_trips_the_alerts_and_shows_as_falco_json() -> None:
    engine = Engine.from_config(config(Path("unused")), plugins=[recorder_plugin],
                                entry_points=False)
    batch = {"Records": [{"messageId": "a", "body": alert("x").decode()},
                         {"messageId": "b", "body": alert("y").decode()}]}
    parsed = read_payload(engine.plugins, json.dumps(batch))
    assert not any(isinstance(p, ParseFailure) for _, p in parsed)
    row = queued.encode(parsed)  # type: ignore[arg-type]
    assert row.startswith(b"alerts/1 ")
    assert queued.decode(row, engine.plugins) == parsed
    assert [a["uuid"] for a in json.loads(queued.readable(row))] == ["x", "y"]
    assert json.loads(queued.readable(alert("raw")))["uuid"] == "raw"
