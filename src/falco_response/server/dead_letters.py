"""The dead-letter table of the queue file: alerts whose handling kept raising.

An alert accepted by ``serve`` is acknowledged only once its actions ran. When handling it
raises (a bug, a plugin crashing, a store that throws), it is tried again with backoff
(:class:`RetryPolicy`); after ``max_attempts`` tries it moves, in one transaction, from the
``items`` table to ``dead_letters`` in the same SQLite file, with its error, the time and the
attempt count, so it is never lost and never retried for ever.

``falco-response dead-letters`` lists them, drops them, or marks them for redrive; the queue
that owns the file (the running server, or the next one to start) moves marked rows back
into ``items`` within a second, so only one process ever writes the live queue.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from .queue_file import SCHEMA


@dataclass(frozen=True)
class RetryPolicy:
    """How often, and how long apart, a failed alert is tried before it is dead-lettered:
    ``backoff`` seconds after the first failure, doubling up to ``max_backoff``."""

    max_attempts: int = 5
    backoff: float = 1.0
    max_backoff: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.backoff < 0 or self.max_backoff < self.backoff:
            raise ValueError("max attempts >= 1, 0 <= backoff <= max backoff")

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failure."""
        return float(min(self.backoff * 2 ** max(0, attempts - 1), self.max_backoff))


@dataclass(frozen=True)
class DeadLetter:
    id: int
    item: int
    body: bytes
    received: float
    failed: float
    attempts: int
    error: str
    redrive: bool


def open_file(path: str) -> sqlite3.Connection:
    """A connection to an existing queue file, for the CLI (never creates one)."""
    db = sqlite3.connect(f"file:{path}?mode=rw", uri=True, isolation_level=None)
    db.execute("PRAGMA busy_timeout=5000")
    for statement in SCHEMA:
        db.execute(statement)
    return db


def insert(db: sqlite3.Connection, item: int, body: bytes, received: float, failed: float,
           attempts: int, error: str) -> None:
    """In the caller's transaction: keep the item as a dead letter, remove it from ``items``."""
    db.execute("INSERT INTO dead_letters (item, body, received, failed, attempts, error) "
               "VALUES (?, ?, ?, ?, ?, ?)", (item, body, received, failed, attempts, error))
    db.execute("DELETE FROM items WHERE id = ?", (item,))


def listed(db: sqlite3.Connection) -> list[DeadLetter]:
    return [DeadLetter(r[0], r[1], bytes(r[2]), r[3], r[4], r[5], r[6], bool(r[7]))
            for r in db.execute("SELECT id, item, body, received, failed, attempts, error, "
                                "redrive FROM dead_letters ORDER BY id")]


def counts(db: sqlite3.Connection) -> tuple[int, int]:
    """(dead letters, of which marked for redrive)."""
    total, marked = db.execute("SELECT count(*), coalesce(sum(redrive), 0) "
                               "FROM dead_letters").fetchone()
    return int(total), int(marked)


def _where(ids: Sequence[int] | None) -> tuple[str, list[int]]:
    if ids is None:
        return "", []
    return f" WHERE id IN ({', '.join('?' * len(ids))})", list(ids)


def mark_redrive(db: sqlite3.Connection, ids: Sequence[int] | None) -> int:
    """Mark dead letters (all when ``ids`` is None) for the queue's owner to take back."""
    where, args = _where(ids)
    return db.execute(f"UPDATE dead_letters SET redrive = 1{where}", args).rowcount


def drop(db: sqlite3.Connection, ids: Sequence[int] | None) -> int:
    where, args = _where(ids)
    return db.execute(f"DELETE FROM dead_letters{where}", args).rowcount


def take_marked(db: sqlite3.Connection, limit: int) -> list[tuple[int, bytes, float]]:
    """In the caller's transaction: move up to ``limit`` marked dead letters back into
    ``items``; their new ids, bodies and receive times."""
    rows = db.execute("SELECT id, body, received FROM dead_letters WHERE redrive = 1 "
                      "ORDER BY id LIMIT ?", (limit,)).fetchall()
    moved = []
    for dead_id, body, received in rows:
        cursor = db.execute("INSERT INTO items (body, received) VALUES (?, ?)",
                            (body, received))
        assert cursor.lastrowid is not None
        db.execute("DELETE FROM dead_letters WHERE id = ?", (dead_id,))
        moved.append((cursor.lastrowid, bytes(body), float(received)))
    return moved
