"""The durable intake queue: an alert is on disk before the sender hears 2xx.

SQLite in WAL mode. Intake calls :meth:`DurableQueue.submit_async` (or ``submit`` from a
thread), which returns a future resolved once the row is committed; every pending insert goes
into one transaction (group commit), so many requests share one commit. The commits run in a
writer thread, or, once :meth:`attach` gave the queue the server's event loop, on the loop
itself, once per loop iteration: with ``synchronous=NORMAL`` a commit makes no fsync and
costs less than the two thread hand-offs it saves. Workers :meth:`take` items from memory
and :meth:`ack` them when their actions finished; on the loop, the acknowledgements of
``ACK_DELAY`` seconds are deleted together in a transaction of their own (a few hundred
neighbouring rows, a few pages), so intake's commits write only what they insert. An item
not acknowledged when the process dies is still in the table and is worked again on the next
start (at-least-once). An item whose handling raised is not acknowledged:
:meth:`retry` hands it out again after a delay, and :meth:`dead_letter` moves it to the
dead-letter table (:mod:`.dead_letters`) once it has had its tries.

When a commit fails, its acknowledgements are committed again on their own, so a full disk
(which fails inserts: intake answers 503, see :class:`QueueDiskFull`) never keeps an
acknowledgement from committing; a reserve of disk space (``<path>-reserve``), given up
when the disk fills, leaves them room. Intake recovers by itself once the reserve can be
allocated again.

``synchronous=NORMAL`` (the default) survives the process being killed; ``FULL`` also
survives the machine losing power, at the cost of an fsync per commit. WAL checkpoints (which
fsync) run in a thread of their own, so intake commits never wait for one.
"""

from __future__ import annotations

import asyncio
import collections
import sqlite3
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Union

from . import dead_letters
from .queue_file import RESERVE_BYTES, Recover, drop_reserve, make_reserve, open_queue_file

Synchronous = Literal["NORMAL", "FULL"]
Waiter = Union["Future[int]", "asyncio.Future[int]"]


ACK_DELAY = 0.05
"""Seconds an ack may wait, to be deleted with the others of that time in one commit (see
:meth:`DurableQueue.ack`)."""


WAL_FRAMES = 16384
"""WAL pages (4 KiB each, so about 64 MiB) after which the WAL is started over. Starting it
over syncs the last checkpoint on intake's path (two fsyncs, a few milliseconds during which
requests wait), so it is kept rare: at 1,000 alerts/s, about once every five seconds."""


class QueueFull(Exception):
    """The queue holds its maximum; the sender should retry later (HTTP 503)."""


class QueueClosed(Exception):
    """The queue no longer accepts items (the server is shutting down)."""


class QueueWriteError(Exception):
    """The item could not be committed (an I/O error); the sender should retry (HTTP 503)."""


class QueueDiskFull(QueueWriteError):
    """The disk under the queue file is full; the sender should retry (HTTP 503)."""


def _write_error(exc: sqlite3.Error) -> QueueWriteError:
    code = getattr(exc, "sqlite_errorcode", 0) or 0
    if code & 0xFF == sqlite3.SQLITE_FULL:
        return QueueDiskFull("queue disk full")
    return QueueWriteError(f"the queue could not commit: {exc}")


@dataclass(frozen=True, slots=True)
class Item:
    id: int
    body: bytes
    received: float
    attempts: int = 0
    """Times its handling failed in this process (not kept across restarts)."""


class DurableQueue:
    """A bounded, crash-safe FIFO of raw alert bodies. Thread-safe.

    ``max_items``/``max_bytes`` bound what is accepted but not yet acknowledged (pending,
    queued and in progress), so a stalled action cannot make the queue grow without bound.
    """

    def __init__(self, path: str | Path, *, max_items: int = 10_000,
                 max_bytes: int = 256 * 1024 * 1024, synchronous: Synchronous = "NORMAL",
                 wal_frames: int = WAL_FRAMES, recover: Recover = "aside",
                 log: Any = None, reserve_bytes: int = RESERVE_BYTES) -> None:
        self.path = str(path)
        self.wal_frames = wal_frames
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._has_ready = threading.Condition(self._lock)  # workers wait on it
        self._has_writes = threading.Condition(self._lock)  # the writer waits on it
        self._stop_checkpoints = threading.Event()
        self._restart_wal = False
        self._db_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._flush_scheduled = False
        self._ack_flush_scheduled = False
        self.synchronous = synchronous
        self._ready: collections.deque[Item] = collections.deque()
        self._pending: list[tuple[bytes, float, Waiter]] = []
        self._acks: list[int] = []
        self._sizes: dict[int, int] = {}
        self._count = 0
        self._bytes = 0
        self._closed = False
        self._stopping = False
        self.recovered = 0
        self.log = log
        self.disk_full = False
        self.dead_letters = 0  # in the table, as of the last look (about once a second)
        self._failed_acks: list[int] = []
        self._timers: set[threading.Timer] = set()
        # Keep the WAL file at its working size when it starts over: truncating it means
        # growing it again, and appends that allocate blocks can wait on the filesystem's
        # journal while the checkpoint thread syncs.
        self._db, rows = open_queue_file(self.path, synchronous=synchronous,
                                         journal_limit=2 * wal_frames * 4096,
                                         recover=recover, log=log)
        self.reserve_bytes = reserve_bytes if self.path != ":memory:" else 0
        self._reserve = f"{self.path}-reserve"
        if self.reserve_bytes and not make_reserve(self._reserve, self.reserve_bytes) \
                and log is not None:
            log.warning("no room for the queue's disk reserve", path=self._reserve,
                        bytes=self.reserve_bytes)
        for row in rows:
            item = Item(*row)
            self._ready.append(item)
            self._sizes[item.id] = len(item.body)
            self._count += 1
            self._bytes += len(item.body)
        self.recovered = self._count
        self._take_redriven()
        self._writer = threading.Thread(target=self._write_loop, name="queue-writer",
                                        daemon=True)
        self._writer.start()
        self._checkpointer = threading.Thread(target=self._checkpoint_loop,
                                              name="queue-checkpoint", daemon=True)
        self._checkpointer.start()

    # -- intake ---------------------------------------------------------------------------

    def submit(self, body: bytes) -> Future[int]:
        """Queue ``body``; the future gives its id once committed. Raises QueueFull/Closed."""
        future: Future[int] = Future()
        self._add(body, future)
        return future

    def submit_async(self, body: bytes) -> asyncio.Future[int]:
        """:meth:`submit` for the event loop: one wake-up of the loop per committed batch,
        not one per alert."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._add(body, future)
        return future

    def _add(self, body: bytes, future: Waiter) -> None:
        with self._lock:
            if self._closed:
                raise QueueClosed("the queue is closed")
            if self.disk_full:  # the reserve is for acks; room is checked every second
                raise QueueDiskFull("queue disk full")
            if self._count >= self.max_items or self._bytes + len(body) > self.max_bytes:
                raise QueueFull(f"the queue holds {self._count} alerts")
            self._count += 1
            self._bytes += len(body)
            self._pending.append((body, time.time(), future))
            self._wake_writer()

    def put(self, body: bytes, timeout: float | None = None) -> int:
        """Blocking :meth:`submit`: returns once the item is committed."""
        return self.submit(body).result(timeout)

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Commit on ``loop`` from now on (call from the loop; not with ``FULL``, whose
        fsync must not block the loop)."""
        with self._lock:
            self._loop = loop
            self._flush_scheduled = False
            self._ack_flush_scheduled = False
            if self._pending:
                self._schedule_flush()
            if self._acks:
                self._wake_acks()

    def _wake_writer(self) -> None:
        """Called with the lock held: something is waiting to be committed."""
        if self._loop is None:
            self._has_writes.notify()
        elif not self._flush_scheduled:
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        assert self._loop is not None
        self._flush_scheduled = True
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._loop.call_soon(self._flush_after_next_poll)
            return
        try:
            self._loop.call_soon_threadsafe(self._flush)
        except RuntimeError:  # the loop is closed: the writer thread takes over
            self._loop = None
            self._flush_scheduled = False
            self._has_writes.notify()

    def _flush_after_next_poll(self) -> None:
        """Run in the loop iteration after the first submit's: the loop reads its sockets
        once more before :meth:`_flush`, so the requests that arrived meanwhile share the
        commit. Measured with ``bench/server.py`` (8 keep-alive connections): about 10% more
        alerts accepted than committing in that iteration, for one more loop iteration of
        latency (microseconds while the loop is busy)."""
        asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        """On the attached loop: commit every pending insert in one transaction."""
        with self._lock:
            self._flush_scheduled = False
            pending, self._pending = self._pending, []
            restart, self._restart_wal = self._restart_wal, False
        if pending:
            self._commit(pending, [])
        if restart:
            self._finish_checkpoint()

    def _flush_acks(self) -> None:
        """On the attached loop, ``ACK_DELAY`` after the first of them: delete the
        acknowledged rows in one transaction. Deleted a few at a time beside each intake
        commit, they cost every commit two more page writes (about a third of its time)."""
        with self._lock:
            self._ack_flush_scheduled = False
            acks, self._acks = self._acks, []
        if acks:
            with self._db_lock:
                self._commit_acks(acks)

    def _wake_acks(self) -> None:
        """Called with the lock held: acknowledgements are waiting to be deleted."""
        if self._loop is None:
            self._has_writes.notify()
        elif not self._ack_flush_scheduled:
            self._ack_flush_scheduled = True
            try:
                self._loop.call_soon_threadsafe(self._loop.call_later, ACK_DELAY,
                                                self._flush_acks)
            except RuntimeError:  # the loop is closed: the writer thread takes over
                self._loop = None
                self._ack_flush_scheduled = False
                self._has_writes.notify()

    # -- workers --------------------------------------------------------------------------

    def take(self, timeout: float | None = None) -> Item | None:
        """The oldest committed item not yet taken, or None after ``timeout`` or on close."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while not self._ready:
                if self._stopping:
                    return None
                wait = None if deadline is None else deadline - time.monotonic()
                if wait is not None and wait <= 0:
                    return None
                self._has_ready.wait(wait)
            return self._ready.popleft()

    def take_many(self, limit: int, timeout: float | None = None) -> list[Item]:
        """Up to ``limit`` of the oldest items not yet taken, waiting (like :meth:`take`)
        only while none is ready: one wake-up for a whole committed batch."""
        first = self.take(timeout)
        if first is None:
            return []
        items = [first]
        with self._lock:
            ready = self._ready
            while ready and len(items) < limit:
                items.append(ready.popleft())
        return items

    def give_back(self, items: list[Item]) -> None:
        """Taken items whose worker went away unfinished: they are the next to be taken."""
        with self._lock:
            self._ready.extendleft(reversed(items))
            self._has_ready.notify(len(items))

    def ack(self, item_id: int) -> None:
        """The item's actions finished: remove it, at most ``ACK_DELAY`` seconds later.
        Acks need not be prompt (an item whose ack was lost in a crash is worked again, as
        at-least-once delivery allows), and waking the event loop from a worker thread for
        each one would take time from intake."""
        self.ack_many((item_id,))

    def ack_many(self, item_ids: Iterable[int]) -> None:
        """:meth:`ack` for several items, under one lock."""
        with self._lock:
            sizes = self._sizes
            for item_id in item_ids:
                self._acks.append(item_id)
                size = sizes.pop(item_id, None)  # its room is free now, for backpressure
                if size is not None:
                    self._count -= 1
                    self._bytes -= size
            self._wake_acks()

    def retry(self, item: Item, delay: float) -> None:
        """Hand ``item`` (not acknowledged: handling it failed) out again in ``delay``
        seconds. It keeps its place in the table, so a restart works it again too."""
        timer = threading.Timer(delay, self._retry_now, (item,))
        timer.daemon = True
        with self._lock:
            if self._stopping:
                return  # it stays in the table for the next start
            self._timers.add(timer)
            timer.start()

    def _retry_now(self, item: Item) -> None:
        with self._lock:
            self._timers = {t for t in self._timers if t.is_alive() and
                            t is not threading.current_thread()}
            if self._stopping:
                return
            self._ready.append(item)
            self._has_ready.notify()

    @property
    def retrying(self) -> int:
        """Items waiting for their next try."""
        with self._lock:
            return sum(1 for t in self._timers if t.is_alive())

    def dead_letter(self, item: Item, error: str) -> bool:
        """Move ``item`` to the dead-letter table with ``error`` and its attempt count, in
        one transaction; False when that could not be committed (it stays queued)."""
        with self._db_lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                dead_letters.insert(self._db, item.id, item.body, item.received, time.time(),
                                    item.attempts, error)
                self._db.execute("COMMIT")
            except sqlite3.Error:
                self._rollback()
                return False
        with self._lock:
            size = self._sizes.pop(item.id, None)
            if size is not None:
                self._count -= 1
                self._bytes -= size
            self.dead_letters += 1
        return True

    def _poll_dead_letters(self, db: sqlite3.Connection) -> None:
        """About once a second, on the checkpoint thread's own connection (a read that
        never waits for intake's commits): count the dead letters, take back marked ones."""
        try:
            total, marked = dead_letters.counts(db)
        except sqlite3.Error:
            return
        self.dead_letters = total
        if marked:
            self._take_redriven()

    def _take_redriven(self) -> None:
        """Move dead letters marked for redrive (``falco-response dead-letters redrive``)
        back into the queue, as far as there is room."""
        with self._lock:
            room = self.max_items - self._count
        with self._db_lock:
            try:
                moved: list[tuple[int, bytes, float]] = []
                if room > 0:
                    self._db.execute("BEGIN IMMEDIATE")
                    moved = dead_letters.take_marked(self._db, room)
                    self._db.execute("COMMIT")
                total, _ = dead_letters.counts(self._db)
            except sqlite3.Error:
                self._rollback()
                return
        with self._lock:
            self.dead_letters = total
            for item_id, body, received in moved:
                self._sizes[item_id] = len(body)
                self._count += 1
                self._bytes += len(body)
                self._ready.append(Item(item_id, body, received))
            if moved:
                self._has_ready.notify(len(moved))
        if moved and self.log is not None:
            self.log.warning("dead letters redriven into the queue", count=len(moved))

    def _rollback(self) -> None:
        try:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    # -- state ----------------------------------------------------------------------------

    def __len__(self) -> int:
        with self._lock:
            return self._count

    @property
    def ready(self) -> int:
        with self._lock:
            return len(self._ready)

    @property
    def full(self) -> bool:
        with self._lock:
            return self._count >= self.max_items

    def close_intake(self) -> None:
        """Refuse new items; what is queued stays queued and can still be taken."""
        with self._lock:
            self._closed = True

    def stop(self) -> None:
        """Wake idle workers (``take`` returns None once nothing is ready), flush, close."""
        with self._lock:
            self._closed = True
            self._stopping = True
            self._loop = None  # what is left is committed by the writer thread
            self._has_ready.notify_all()
            self._has_writes.notify_all()
            timers, self._timers = self._timers, set()
        for timer in timers:
            timer.cancel()
        self._stop_checkpoints.set()
        self._writer.join()
        self._checkpointer.join()
        with self._db_lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass  # a full disk: the WAL keeps what the file lacks
            self._db.close()

    # -- the writer thread ----------------------------------------------------------------

    def _write_loop(self) -> None:
        while True:
            with self._lock:
                while not (self._pending or self._acks or self._stopping or self._restart_wal):
                    self._has_writes.wait()
                pending, self._pending = self._pending, []
                acks, self._acks = self._acks, []
                stopping, restart, self._restart_wal = self._stopping, self._restart_wal, False
            if pending or acks:
                self._commit(pending, acks)
            if restart:
                self._finish_checkpoint()
            if stopping:
                with self._lock:
                    if not self._pending and not self._acks:
                        return

    def _checkpoint_loop(self, every: float = 0.2, close_enough: int = 32) -> None:
        """Copy the WAL back into the database (and fsync it) off the intake path.

        Under a steady stream of commits a checkpoint never reaches the WAL's end, so the
        WAL would grow for ever; once it is long and nearly all copied, the writer is asked
        to finish the last few frames between two commits, which lets SQLite start the WAL
        over from its beginning. That last step syncs what it copies, on intake's path, so
        it is asked for only when few frames are left (``close_enough``), unless the WAL has
        grown to twice ``wal_frames`` anyway.
        """
        restart_frames = self.wal_frames
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        rounds = 0
        try:
            while not self._stop_checkpoints.wait(every):
                rounds += 1
                self._retry_failed_acks()
                if rounds % 5 == 0:
                    self._poll_dead_letters(db)
                    if self.disk_full:
                        self._check_room()
                try:
                    busy, frames, copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error:
                    continue  # busy: the next round catches up
                left = frames - copied
                if not busy and frames >= restart_frames and (
                        left < close_enough or (frames >= 2 * restart_frames and left < 256)):
                    with self._lock:
                        self._restart_wal = True
                        self._wake_writer()
        finally:
            db.close()

    def _check_room(self) -> None:
        """While the disk is full: once the reserve can be allocated again, there is room
        for intake too."""
        if self.reserve_bytes and not make_reserve(self._reserve, self.reserve_bytes):
            return
        with self._lock:
            self.disk_full = False
        if self.log is not None:
            self.log.warning("queue disk has room again: accepting alerts", path=self.path)

    def _retry_failed_acks(self) -> None:
        with self._lock:
            if self._failed_acks and not self._stopping:
                self._acks.extend(self._failed_acks)
                self._failed_acks = []
                self._wake_acks()

    def _finish_checkpoint(self) -> None:
        """Between two commits: copy the WAL's last frames so SQLite can start it over."""
        with self._db_lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                pass

    def _commit(self, pending: list[tuple[bytes, float, Waiter]], acks: list[int]) -> None:
        with self._db_lock:
            self._commit_locked(pending, acks)

    def _commit_locked(self, pending: list[tuple[bytes, float, Waiter]],
                       acks: list[int]) -> None:
        """Inserts and acknowledgements in one transaction (one commit for both, the common
        case); when that fails, the acknowledgements are committed on their own, so a full
        disk failing the inserts never keeps them from committing."""
        ids: range | list[int] = []
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            if pending:
                ids = _insert(db, [(body, received) for body, received, _ in pending])
            if acks:
                _delete(db, acks)
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            if pending:
                self._inserts_failed(pending, exc)
            if acks:
                self._commit_acks(acks)
            return
        with self._lock:
            for item_id, (body, received, _) in zip(ids, pending):
                self._sizes[item_id] = len(body)
                self._ready.append(Item(item_id, body, received))
            self._has_ready.notify(len(ids))
        _settle([(future, item_id) for item_id, (_, _, future) in zip(ids, pending)])

    def _commit_acks(self, acks: list[int]) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            _delete(self._db, acks)
            self._db.execute("COMMIT")
        except sqlite3.Error:
            self._rollback()
            with self._lock:  # tried again in a moment, not in a busy loop
                self._failed_acks.extend(acks)

    def _inserts_failed(self, pending: list[tuple[bytes, float, Waiter]],
                        exc: sqlite3.Error) -> None:
        error = _write_error(exc)
        full = isinstance(error, QueueDiskFull)
        with self._lock:
            self._count -= len(pending)
            self._bytes -= sum(len(body) for body, _, _ in pending)
            newly_full = full and not self.disk_full
            self.disk_full = self.disk_full or full
        if newly_full:
            drop_reserve(self._reserve)  # room for acks and dead letters to commit
        if self.log is not None:
            if newly_full:
                self.log.error("queue disk full: refusing alerts with 503 until there is room",
                               path=self.path)
            elif not full:
                self.log.error("queue write failed", path=self.path, error=str(exc)[:200])
        _settle([(future, error) for _, _, future in pending])


def _insert(db: sqlite3.Connection, rows: list[tuple[bytes, float]]) -> range:
    """In the caller's write transaction: insert ``rows``, one statement for all; their ids.
    With nothing else writing (the transaction holds the write lock), SQLite gives each new
    row the largest id in the table plus one, so the ids run up to the last one inserted."""
    db.executemany("INSERT INTO items (body, received) VALUES (?, ?)", rows)
    last = db.execute("SELECT last_insert_rowid()").fetchone()[0]
    return range(last - len(rows) + 1, last + 1)


def _delete(db: sqlite3.Connection, ids: list[int]) -> None:
    """In the caller's transaction: delete the rows ``ids``, one range per run of
    consecutive ids (acknowledgements come nearly in order: a few ranges, not a statement
    per row)."""
    db.executemany("DELETE FROM items WHERE id BETWEEN ? AND ?", runs(ids))


def runs(ids: Iterable[int]) -> list[tuple[int, int]]:
    """``ids`` as the fewest ``(first, last)`` ranges that hold exactly them."""
    found: list[tuple[int, int]] = []
    for item_id in sorted(set(ids)):
        if found and found[-1][1] == item_id - 1:
            found[-1] = (found[-1][0], item_id)
        else:
            found.append((item_id, item_id))
    return found


def _settle(results: list[tuple[Waiter, int | BaseException]]) -> None:
    """Resolve thread futures here, and asyncio futures on their loops, one call per loop
    (directly when this is that loop's thread)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[int],
                                                        int | BaseException]]] = {}
    try:
        here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        here = None
    for future, value in results:
        if isinstance(future, asyncio.Future):
            by_loop.setdefault(future.get_loop(), []).append((future, value))
        elif isinstance(value, BaseException):
            future.set_exception(value)
        else:
            future.set_result(value)
    for loop, batch in by_loop.items():
        if loop is here:
            _settle_on_loop(batch)
            continue
        try:
            loop.call_soon_threadsafe(_settle_on_loop, batch)
        except RuntimeError:
            pass  # the loop is closed: nobody waits any more


def _settle_on_loop(batch: list[tuple[asyncio.Future[int], int | BaseException]]) -> None:
    for future, value in batch:
        if future.done():
            continue
        if isinstance(value, BaseException):
            future.set_exception(value)
        else:
            future.set_result(value)
