"""A corrupt or truncated queue file at start, against the real `serve` process: set aside
with a timestamped name and one critical line, a fresh queue (no crash loop); with
--queue-recover=refuse, a clear error and exit code 4, never a traceback."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from server_helpers import Client, alert, config, recorded, wait_for, write_yaml

from falco_response.server import DurableQueue


def random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(64 * 1024))


def truncated(path: Path) -> None:
    queue = DurableQueue(path)
    for i in range(300):
        queue.put(b'{"rule": "x", "n": %d}' % i * 20, timeout=5)
    queue.stop()
    data = path.read_bytes()
    assert len(data) > 64 * 1024
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("damage", [random_bytes, truncated])
def test_a_corrupt_queue_is_set_aside_and_serve_starts_fresh(tmp_path: Path, spawn, damage) -> None:  # type: ignore[no-untyped-def]
    queue = tmp_path / "q.db"
    damage(queue)
    size = queue.stat().st_size
    record = tmp_path / "rec"
    proc = spawn(write_yaml(tmp_path / "c.yaml", config(record)), "--queue", str(queue))
    proc.wait_ready()
    assert Client(proc.port).post(alert("fresh"))[0] == 202
    wait_for(lambda: recorded(record) == ["fresh"], 30, "the alert")
    [aside] = [p for p in tmp_path.iterdir() if p.name.startswith("q.db.corrupt-")]
    assert aside.stat().st_size == size
    log = proc.log.read_text()
    [line] = [json.loads(x) for x in log.splitlines() if "queue file corrupt" in x]
    assert line["level"] == "critical" and line["moved_to"] == str(aside)
    assert line["bytes"] == size
    assert "Traceback" not in log


def test_refuse_keeps_the_strict_behaviour(tmp_path: Path, spawn) -> None:  # type: ignore[no-untyped-def]
    queue = tmp_path / "q.db"
    random_bytes(queue)
    before = queue.read_bytes()
    proc = spawn(write_yaml(tmp_path / "c.yaml", config(tmp_path / "rec")), "--queue",
                 str(queue), "--queue-recover", "refuse")
    assert proc.finish() == 4
    log = proc.log.read_text()
    assert f"error: the queue file {queue} is corrupt" in log and "Traceback" not in log
    assert queue.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]


def test_a_locked_queue_is_never_taken_for_corrupt(tmp_path: Path) -> None:
    """Another process holding the file is no reason to move it aside."""
    from falco_response.server.queue_file import QueueUnusable

    queue = tmp_path / "q.db"
    DurableQueue(queue).stop()
    holder = sqlite3.connect(queue, isolation_level=None)
    holder.execute("PRAGMA journal_mode=DELETE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(QueueUnusable):
            DurableQueue(queue)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]


def test_the_wal_and_shm_are_set_aside_with_the_file(tmp_path: Path, spawn) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "q.db"
    sizes = {"": 40960, "-wal": 8192, "-shm": 32768}
    for suffix, size in sizes.items():
        Path(f"{path}{suffix}").write_bytes(os.urandom(size))
    proc = spawn(write_yaml(tmp_path / "c.yaml", config(tmp_path / "rec")), "--queue", str(path))
    proc.wait_ready()
    [line] = [json.loads(x) for x in proc.log.read_text().splitlines()
              if "queue file corrupt" in x]
    assert line["bytes"] == sum(sizes.values())
    for suffix, size in sizes.items():
        assert Path(line["moved_to"] + suffix).stat().st_size == size
