"""A state store in one SQLite file: for one host (a VM, a container with a volume, several
``falco-response`` processes side by side). WAL mode and one atomic upsert per claim make it
safe across processes; it is not for network filesystems (SQLite's locks do not hold there)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec

from ..audit import AuditRecord
from .base import StoreError

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(AuditRecord).decode

_SCHEMA = """
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    time_ns INTEGER NOT NULL,
    expires_at REAL NOT NULL,
    record BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_time ON audit (time_ns);
"""
_INCR = """
INSERT INTO counters (key, value, expires_at) VALUES (?, 1, ?)
ON CONFLICT (key) DO UPDATE SET
    value = CASE WHEN counters.expires_at <= ? THEN 1 ELSE counters.value + 1 END,
    expires_at = excluded.expires_at
RETURNING value
"""
# One statement: insert, or take over a claim that has expired. SQLite runs it under its
# write lock, so two processes cannot both see "changed one row" for the same live key.
_CLAIM = """
INSERT INTO claims (key, expires_at) VALUES (?, ?)
ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
WHERE claims.expires_at <= ?
"""
_PURGE_EVERY = 512


class SQLiteStore:
    """Claims in a SQLite file. ``clock`` is injectable so tests need not sleep."""

    def __init__(self, path: str | Path, *, timeout: float = 10.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.url = f"sqlite://{self.path}"
        self._clock = clock
        self._lock = threading.Lock()
        self._claims = 0
        self._records = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open {self.url}: {exc}") from exc

    def claim(self, key: str, ttl_seconds: float) -> bool:
        now = self._clock()
        with self._lock:
            try:
                changed = self._db.execute(_CLAIM, (key, now + ttl_seconds, now)).rowcount
                self._claims += 1
                if self._claims % _PURGE_EVERY == 0:
                    self._db.execute("DELETE FROM claims WHERE expires_at <= ?", (now,))
            except sqlite3.Error as exc:
                raise StoreError(f"claim failed on {self.url}: {exc}") from exc
        return changed == 1

    def release(self, key: str) -> None:
        with self._lock:
            try:
                self._db.execute("DELETE FROM claims WHERE key = ?", (key,))
            except sqlite3.Error as exc:
                raise StoreError(f"release failed on {self.url}: {exc}") from exc

    def incr(self, key: str, ttl_seconds: float) -> int:
        now = self._clock()
        with self._lock:
            try:
                (value,) = self._db.execute(_INCR, (key, now + ttl_seconds, now)).fetchone()
            except sqlite3.Error as exc:
                raise StoreError(f"incr failed on {self.url}: {exc}") from exc
        return int(value)

    def take(self, key: str) -> int:
        now = self._clock()
        with self._lock:
            try:
                row = self._db.execute("DELETE FROM counters WHERE key = ? "
                                       "RETURNING value, expires_at", (key,)).fetchone()
            except sqlite3.Error as exc:
                raise StoreError(f"take failed on {self.url}: {exc}") from exc
        return int(row[0]) if row is not None and row[1] > now else 0

    def record(self, records: Sequence[AuditRecord], ttl_seconds: float) -> None:
        now = self._clock()
        rows = [(r.time_ns, now + ttl_seconds, _encode(r)) for r in records]
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany("INSERT INTO audit VALUES (?, ?, ?)", rows)
                self._records += len(rows)
                if self._records >= _PURGE_EVERY:
                    self._records = 0
                    self._db.execute("DELETE FROM audit WHERE expires_at <= ?", (now,))
                    self._db.execute("DELETE FROM counters WHERE expires_at <= ?", (now,))
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise StoreError(f"audit record failed on {self.url}: {exc}") from exc

    def history(self, since_ns: int) -> list[AuditRecord]:
        now = self._clock()
        with self._lock:
            try:
                rows = self._db.execute("SELECT record FROM audit WHERE time_ns >= ? AND "
                                        "expires_at > ? ORDER BY time_ns, rowid",
                                        (since_ns, now)).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"audit query failed on {self.url}: {exc}") from exc
        return [_decode(row[0]) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
