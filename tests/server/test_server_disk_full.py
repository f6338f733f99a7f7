"""A full disk under the queue, on a real small tmpfs, against the real `serve` process:
intake answers 503 with Retry-After and a JSON error while it lasts, alerts accepted before
still finish (their acks do not share the failing inserts' transaction), and intake recovers
without a restart once there is room. Needs root to mount the tmpfs."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from server_helpers import TOKEN, Client, alert, config, recorded, wait_for, write_yaml

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(path: Path) -> None:
    """Write ``path`` until the filesystem has no room left."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for _ in range(10_000):
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)


def rows(queue: Path) -> int:
    """Items committed in the queue file and not yet acknowledged, read as SQLite sees it."""
    db = sqlite3.connect(f"file:{queue}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT count(*) FROM items").fetchone()[0])
    finally:
        db.close()


def metric(port: int, name: str) -> float:
    text = Client(port, token=TOKEN).get("/metrics")[2]
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


@pytest.mark.parametrize("actions_in", ["threads", "process"])
def test_a_full_disk_is_a_503_and_intake_recovers_without_restart(
        tmp_path: Path, small_disk: Path, spawn, actions_in: str) -> None:  # type: ignore[no-untyped-def]
    record = tmp_path / "rec"
    cfg = write_yaml(tmp_path / "c.yaml", config(record))
    proc = spawn(cfg, "--queue", str(small_disk / "q.db"), "--actions-in", actions_in,
                 env={"FALCO_RESPONSE_TOKENS": TOKEN})
    proc.wait_ready()
    client = Client(proc.port, token=TOKEN)
    assert client.post(alert("before"))[0] == 202
    wait_for(lambda: recorded(record) == ["before"], 30, "the first alert")

    fill(small_disk / "filler")
    accepted, refused = [], None
    padding = "p" * 4000
    for i in range(2000):  # the WAL may still have room for a few
        status, headers, body = client.post(alert(f"full-{i}", padding=padding))
        if status == 202:
            accepted.append(f"full-{i}")
            continue
        refused = (status, headers, body)
        break
    assert refused is not None, "the disk never filled"
    status, headers, body = refused
    assert status == 503 and body == {"error": "queue disk full; retry later"}
    assert int(headers["retry-after"]) > 0
    assert client.post(alert("still-full", padding=padding))[0] == 503  # no crash, no 500
    assert metric(proc.port, "falco_response_queue_disk_full") == 1
    assert metric(proc.port, 'falco_response_alerts_rejected_total{reason="disk_full"}') >= 2
    # what was accepted before the disk filled is handled and acknowledged meanwhile
    wait_for(lambda: sorted(recorded(record)) == sorted(["before", *accepted]), 30,
             "the accepted alerts")
    # and their acks commit although every insert fails: they share no transaction
    wait_for(lambda: rows(small_disk / "q.db") == 0, 30, "the acks, with the disk still full")
    assert client.post(alert("still-full-2", padding=padding))[0] == 503

    (small_disk / "filler").unlink()  # the server notices within about a second
    wait_for(lambda: client.post(alert("after"))[0] == 202, 30, "intake to accept again")
    wait_for(lambda: "after" in recorded(record), 30, "the alert after recovery")
    assert metric(proc.port, "falco_response_queue_disk_full") == 0
    wait_for(lambda: metric(proc.port, "falco_response_queue_depth") == 0, 30, "acks")
    log = proc.log.read_text()
    assert log.count("queue disk full") == 1 and "queue disk has room again" in log
    assert "Traceback" not in log
