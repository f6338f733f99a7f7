"""The durable queue on its own: commit before acknowledgement, recovery, bounds."""

from __future__ import annotations

import time
from pathlib import Path

from server_helpers import wait_for

import pytest
from hypothesis import given
from hypothesis import strategies as st

from falco_response.server.queue import DurableQueue, QueueClosed, QueueFull, runs


def test_items_come_out_in_order_and_ack_removes_them(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path / "q.db")
    ids = [queue.put(f"alert-{i}".encode(), timeout=5) for i in range(3)]
    taken = [queue.take(timeout=1) for _ in range(3)]
    assert [t.body for t in taken if t] == [b"alert-0", b"alert-1", b"alert-2"]
    assert [t.id for t in taken if t] == ids
    assert queue.take(timeout=0.05) is None
    for item_id in ids:
        queue.ack(item_id)
    queue.stop()
    reopened = DurableQueue(tmp_path / "q.db")
    assert reopened.recovered == 0 and len(reopened) == 0
    reopened.stop()


def test_unacknowledged_items_are_worked_again_after_a_restart(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path / "q.db")
    first = queue.put(b"done", timeout=5)
    queue.put(b"taken-not-acked", timeout=5)
    queue.put(b"never-taken", timeout=5)
    assert queue.take(timeout=1).body == b"done"  # type: ignore[union-attr]
    assert queue.take(timeout=1).body == b"taken-not-acked"  # type: ignore[union-attr]
    queue.ack(first)
    queue.stop()

    again = DurableQueue(tmp_path / "q.db")
    assert again.recovered == 2
    bodies = [again.take(timeout=1).body for _ in range(2)]  # type: ignore[union-attr]
    assert bodies == [b"taken-not-acked", b"never-taken"]
    again.stop()


def test_the_queue_is_bounded_by_items_and_bytes(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path / "q.db", max_items=2, max_bytes=100)
    queue.put(b"a", timeout=5)
    queue.put(b"b", timeout=5)
    with pytest.raises(QueueFull):
        queue.submit(b"c")
    item = queue.take(timeout=1)
    assert item is not None
    assert queue.full
    queue.ack(item.id)
    wait_for(lambda: not queue.full, 5, "the ack to be committed")
    queue.put(b"c", timeout=5)
    with pytest.raises(QueueFull):
        queue.submit(b"x" * 200)
    queue.stop()


def test_a_closed_queue_refuses_intake_but_still_hands_out_items(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path / "q.db")
    queue.put(b"queued", timeout=5)
    queue.close_intake()
    with pytest.raises(QueueClosed):
        queue.submit(b"late")
    assert queue.take(timeout=1).body == b"queued"  # type: ignore[union-attr]
    queue.stop()


def test_the_file_is_in_wal_mode(tmp_path: Path) -> None:
    import sqlite3

    queue = DurableQueue(tmp_path / "q.db")
    queue.put(b"x", timeout=5)
    mode = sqlite3.connect(tmp_path / "q.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    queue.stop()


def test_commits_on_an_attached_event_loop(tmp_path: Path) -> None:
    """The server's mode: intake commits on its event loop; workers' acks (other threads)
    are committed there too; what was never acknowledged is back after a reopen."""
    import asyncio
    import threading

    queue = DurableQueue(tmp_path / "q.db")

    async def intake() -> list[int]:
        queue.attach(asyncio.get_running_loop())
        ids = await asyncio.gather(*(queue.submit_async(f"a-{i}".encode()) for i in range(50)))
        from_thread: list[int] = []
        worker = threading.Thread(target=lambda: from_thread.append(queue.put(b"t", 5)))
        worker.start()
        while worker.is_alive():
            await asyncio.sleep(0.01)
        items = [queue.take(timeout=1) for _ in range(51)]
        acker = threading.Thread(target=lambda: [queue.ack(i.id) for i in items[:40] if i])
        acker.start()
        while acker.is_alive() or len(queue) > 11:
            await asyncio.sleep(0.01)
        return list(ids) + from_thread

    ids = asyncio.run(intake())
    assert len(set(ids)) == 51
    queue.stop()
    again = DurableQueue(tmp_path / "q.db")
    assert again.recovered == 11
    bodies = [again.take(timeout=1).body for _ in range(11)]  # type: ignore[union-attr]
    assert bodies == [f"a-{i}".encode() for i in range(40, 50)] + [b"t"]
    again.stop()


def test_the_wal_is_started_over_under_a_steady_stream_of_commits(tmp_path: Path) -> None:
    """Checkpoints alone never reach the end of a WAL that is always being written; the
    queue asks for the last frames between two commits so SQLite starts the WAL over.

    Counted without timing: SQLite adds one to the checkpoint sequence number in the WAL's
    header (bytes 12-15) each time it starts the WAL over. How large the WAL gets between two
    restarts depends on how often the checkpoint thread runs on a loaded machine, so the
    size is only checked against a WAL that is never started over (it holds every frame)."""
    path = tmp_path / "q.db"
    wal = Path(f"{path}-wal")
    queue = DurableQueue(path, wal_frames=300)
    body = b'{"rule": "x"}' * 20
    sequences: set[int] = set()
    commits = biggest = 0
    deadline = time.monotonic() + 300
    while len(sequences) < 4 and commits < 60_000 and time.monotonic() < deadline:
        item_id = queue.put(body)
        assert queue.take(timeout=1) is not None
        queue.ack(item_id)
        commits += 2
        with wal.open("rb") as f:
            header = f.read(16)
        sequences.add(int.from_bytes(header[12:16], "big"))
        biggest = max(biggest, wal.stat().st_size)
    queue.stop()
    print(f"{commits} commits, WAL started over {len(sequences) - 1} times, "
          f"peak {biggest // (4096 + 24)} frames")
    assert len(sequences) >= 4, f"the WAL was started over {len(sequences) - 1} times " \
                                f"in {commits} commits"
    frame = 4096 + 24
    # Never started over, the WAL would hold every frame: at least one per commit.
    assert biggest < commits * frame, f"the WAL grew to {biggest // frame} frames"
    assert not wal.exists() or wal.stat().st_size == 0  # stop() checkpoints all of it


@given(st.sets(st.integers(min_value=1, max_value=400), max_size=120))
def test_runs_hold_exactly_the_acknowledged_ids(ids: set[int]) -> None:
    """The ranges an ack commit deletes cover the acknowledged ids and nothing else, as few
    as there are runs of consecutive ids."""
    found = runs(ids)
    covered = [i for first, last in found for i in range(first, last + 1)]
    assert sorted(covered) == sorted(ids) and len(covered) == len(set(covered))
    assert all(first <= last for first, last in found)
    assert all(a[1] + 1 < b[0] for a, b in zip(found, found[1:]))  # no two could be one


def test_acks_on_the_loop_are_deleted_together_not_with_each_intake_commit(
        tmp_path: Path) -> None:
    """On the event loop, intake's commits insert only; the acknowledgements of ACK_DELAY
    seconds are deleted in one transaction of their own, one range per run of ids."""
    import asyncio

    queue = DurableQueue(tmp_path / "q.db")
    statements: list[str] = []

    async def run() -> None:
        queue.attach(asyncio.get_running_loop())
        await asyncio.gather(*(queue.submit_async(b"a") for _ in range(300)))
        items = [queue.take(timeout=1) for _ in range(300)]
        queue._db.set_trace_callback(statements.append)
        queue.ack_many([i.id for i in items[:250] if i])  # 250 neighbours
        for _ in range(3):
            await queue.submit_async(b"during")  # intake commits while the acks wait
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any("DELETE" in s for s in statements):
            await asyncio.sleep(0.01)

    asyncio.run(run())
    transactions: list[list[str]] = []
    for statement in statements:
        if statement.startswith("BEGIN"):
            transactions.append([])
        elif transactions:
            transactions[-1].append(statement)
    inserting = [t for t in transactions if any(s.startswith("INSERT") for s in t)]
    deleting = [t for t in transactions if any(s.startswith("DELETE") for s in t)]
    assert len(inserting) >= 1 and not any(t in deleting for t in inserting)
    assert len(deleting) == 1 and sum(s.startswith("DELETE") for s in deleting[0]) == 1
    queue.stop()
    again = DurableQueue(tmp_path / "q.db")
    assert again.recovered == 53  # 300 + 3 in, 250 acknowledged
    again.stop()


def test_ids_of_a_batch_insert_are_the_rows_ids(tmp_path: Path) -> None:
    """A batch is inserted with one statement; the ids it reports are the rows' own."""
    import sqlite3

    queue = DurableQueue(tmp_path / "q.db")
    futures = [queue.submit(f"b-{i}".encode()) for i in range(40)]
    ids = [f.result(5) for f in futures]
    queue.stop()
    rows = dict(sqlite3.connect(tmp_path / "q.db").execute("SELECT id, body FROM items"))
    assert [rows[i] for i in ids] == [f"b-{i}".encode() for i in range(40)]


def test_a_submit_in_the_next_loop_iteration_shares_the_commit(tmp_path: Path) -> None:
    """On the loop, the commit waits for one more iteration (one more read of the sockets),
    so a request whose handler runs in the iteration after the first's joins its
    transaction instead of starting its own."""
    import asyncio

    queue = DurableQueue(tmp_path / "q.db")
    begins: list[str] = []

    async def run() -> list[int]:
        loop = asyncio.get_running_loop()
        queue.attach(loop)
        queue._db.set_trace_callback(lambda s: begins.append(s) if s.startswith("BEGIN") else None)
        futures: list[asyncio.Future[int]] = []
        loop.call_soon(lambda: futures.append(queue.submit_async(b"first")) or
                       loop.call_soon(lambda: futures.append(queue.submit_async(b"second"))))
        while len(futures) < 2:
            await asyncio.sleep(0)
        return list(await asyncio.gather(*futures))

    first, second = asyncio.run(run())
    assert second == first + 1 and len(begins) == 1
    queue.stop()
