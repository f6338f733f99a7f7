"""A state store in one SQLite file: for one host (a VM, a container with a volume, several
``falco-response`` processes side by side). WAL mode and one atomic upsert per claim make it
safe across processes; it is not for network filesystems (SQLite's locks do not hold there).

Time comes from one source: SQLite reads the clock inside each statement (``julianday('now')``,
under its write lock), so a process whose own idea of the time is off (a faked or skewed
clock in a container) can neither free another process's claim early nor hold its own too
long. Tests may inject ``clock`` instead."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec

from ..audit import AuditRecord
from .pause import Pause, decode as _decode_pause, encode as _encode_pause
from .base import NoSuchStore, StoreError

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
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS pauses (
    scope TEXT PRIMARY KEY,
    pause BLOB NOT NULL
);
"""
# Like _CLAIM: insert, or take over a value that has expired, in one statement.
_PUT_NEW = """
INSERT INTO kv (key, value, expires_at) VALUES (:key, :value, :now + :ttl)
ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
WHERE kv.expires_at <= :now
"""
_PUT = "INSERT OR REPLACE INTO kv (key, value, expires_at) VALUES (:key, :value, :now + :ttl)"
_GET = "SELECT value FROM kv WHERE key = :key AND expires_at > :now"
_SCAN = ("SELECT key, value FROM kv WHERE key >= :low AND key < :high AND expires_at > :now "
         "ORDER BY key")
_INCR = """
INSERT INTO counters (key, value, expires_at) VALUES (:key, 1, :now + :ttl)
ON CONFLICT (key) DO UPDATE SET
    value = CASE WHEN counters.expires_at <= :now THEN 1 ELSE counters.value + 1 END,
    expires_at = excluded.expires_at
RETURNING value
"""
# One statement: insert, or take over a claim that has expired. SQLite runs it under its
# write lock, so two processes cannot both see "changed one row" for the same live key.
_CLAIM = """
INSERT INTO claims (key, expires_at) VALUES (:key, :now + :ttl)
ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
WHERE claims.expires_at <= :now
"""
_HELD = "SELECT 1 FROM claims WHERE key = :key AND expires_at > :now"
_TAKE = """DELETE FROM counters WHERE key = :key
RETURNING value, expires_at > :now"""
_PURGE_CLAIMS = "DELETE FROM claims WHERE expires_at <= :now"
_PURGE_AUDIT = "DELETE FROM audit WHERE expires_at <= :now"
_PURGE_COUNTERS = "DELETE FROM counters WHERE expires_at <= :now"
_RECORD = "INSERT INTO audit VALUES (:time_ns, :now + :ttl, :record)"
_HISTORY = ("SELECT record FROM audit WHERE time_ns >= :since AND expires_at > :now "
            "ORDER BY time_ns, rowid")
_DB_NOW = "((julianday('now') - 2440587.5) * 86400.0)"
"""Epoch seconds by SQLite's clock, evaluated once per statement."""
_PURGE_EVERY = 512
_STATEMENTS = {"claim": _CLAIM, "held": _HELD, "incr": _INCR, "take": _TAKE,
               "purge_claims": _PURGE_CLAIMS, "purge_audit": _PURGE_AUDIT,
               "purge_counters": _PURGE_COUNTERS, "record": _RECORD, "history": _HISTORY,
               "put": _PUT, "put_new": _PUT_NEW, "get": _GET, "scan": _SCAN}


class SQLiteStore:
    """Claims in a SQLite file. ``clock`` is injectable so tests need not sleep; by default
    the time is SQLite's own (see the module docstring). ``read_only`` opens an existing file
    for reading (``falco-response audit``) and never creates one."""

    def __init__(self, path: str | Path, *, timeout: float = 10.0,
                 clock: Callable[[], float] | None = None, read_only: bool = False) -> None:
        self.path = Path(path)
        self.url = f"sqlite://{self.path}"
        self._clock = clock
        self._lock = threading.Lock()
        self._claims = 0
        self._records = 0
        self._sql = {name: (text if clock is not None else text.replace(":now", _DB_NOW))
                     for name, text in _STATEMENTS.items()}
        try:
            if read_only:
                if not self.path.is_file():
                    raise NoSuchStore(f"no such store: {self.path} does not exist")
                from urllib.parse import quote

                self._db = sqlite3.connect(f"file:{quote(str(self.path.resolve()))}?mode=ro",
                                           uri=True, timeout=timeout, isolation_level=None,
                                           check_same_thread=False)
                self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open {self.url}: {exc}") from exc

    def _args(self, **values: object) -> dict[str, object]:
        if self._clock is not None:
            values["now"] = self._clock()
        return values

    def claim(self, key: str, ttl_seconds: float) -> bool:
        args = self._args(key=key, ttl=ttl_seconds)
        with self._lock:
            try:
                changed = self._db.execute(self._sql["claim"], args).rowcount
                self._claims += 1
                if self._claims % _PURGE_EVERY == 0:
                    self._db.execute(self._sql["purge_claims"], self._args())
            except sqlite3.Error as exc:
                raise StoreError(f"claim failed on {self.url}: {exc}") from exc
        return changed == 1

    def held(self, key: str) -> bool:
        with self._lock:
            try:
                row = self._db.execute(self._sql["held"], self._args(key=key)).fetchone()
            except sqlite3.Error as exc:
                raise StoreError(f"read failed on {self.url}: {exc}") from exc
        return row is not None

    def release(self, key: str) -> None:
        with self._lock:
            try:
                self._db.execute("DELETE FROM claims WHERE key = ?", (key,))
            except sqlite3.Error as exc:
                raise StoreError(f"release failed on {self.url}: {exc}") from exc

    def incr(self, key: str, ttl_seconds: float) -> int:
        args = self._args(key=key, ttl=ttl_seconds)
        with self._lock:
            try:
                (value,) = self._db.execute(self._sql["incr"], args).fetchone()
            except sqlite3.Error as exc:
                raise StoreError(f"incr failed on {self.url}: {exc}") from exc
        return int(value)

    def take(self, key: str) -> int:
        with self._lock:
            try:
                row = self._db.execute(self._sql["take"], self._args(key=key)).fetchone()
            except sqlite3.Error as exc:
                raise StoreError(f"take failed on {self.url}: {exc}") from exc
        return int(row[0]) if row is not None and row[1] else 0

    def record(self, records: Sequence[AuditRecord], ttl_seconds: float) -> None:
        rows = [self._args(time_ns=r.time_ns, ttl=ttl_seconds, record=_encode(r))
                for r in records]
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(self._sql["record"], rows)
                self._records += len(rows)
                if self._records >= _PURGE_EVERY:
                    self._records = 0
                    self._db.execute(self._sql["purge_audit"], self._args())
                    self._db.execute(self._sql["purge_counters"], self._args())
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise StoreError(f"audit record failed on {self.url}: {exc}") from exc

    def history(self, since_ns: int) -> list[AuditRecord]:
        with self._lock:
            try:
                rows = self._db.execute(self._sql["history"],
                                        self._args(since=since_ns)).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"audit query failed on {self.url}: {exc}") from exc
        return [_decode(row[0]) for row in rows]

    def put(self, key: str, value: bytes, ttl_seconds: float) -> None:
        args = self._args(key=key, value=bytes(value), ttl=ttl_seconds)
        with self._lock:
            try:
                self._db.execute(self._sql["put"], args)
            except sqlite3.Error as exc:
                raise StoreError(f"put failed on {self.url}: {exc}") from exc

    def put_new(self, key: str, value: bytes, ttl_seconds: float) -> bytes | None:
        args = self._args(key=key, value=bytes(value), ttl=ttl_seconds)
        with self._lock:
            try:
                if self._db.execute(self._sql["put_new"], args).rowcount == 1:
                    return None
                row = self._db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
            except sqlite3.Error as exc:
                raise StoreError(f"put_new failed on {self.url}: {exc}") from exc
        return bytes(row[0]) if row is not None else b""

    def get(self, key: str) -> bytes | None:
        with self._lock:
            try:
                row = self._db.execute(self._sql["get"], self._args(key=key)).fetchone()
            except sqlite3.Error as exc:
                raise StoreError(f"get failed on {self.url}: {exc}") from exc
        return bytes(row[0]) if row is not None else None

    def scan(self, prefix: str) -> list[tuple[str, bytes]]:
        # A range on the primary key, not LIKE: prefixes hold '_' and '%'.
        args = self._args(low=prefix, high=prefix + "\U0010ffff")
        with self._lock:
            try:
                rows = self._db.execute(self._sql["scan"], args).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"scan failed on {self.url}: {exc}") from exc
        return [(str(k), bytes(v)) for k, v in rows]

    def pauses(self) -> dict[str, Pause]:
        with self._lock:
            try:
                rows = self._db.execute("SELECT scope, pause FROM pauses").fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"containment switch unreadable on {self.url}: {exc}") from exc
        return {scope: _decode_pause(blob) for scope, blob in rows}

    def set_pause(self, scope: str, pause: Pause | None) -> None:
        with self._lock:
            try:
                if pause is None:
                    self._db.execute("DELETE FROM pauses WHERE scope = ?", (scope,))
                else:
                    self._db.execute("INSERT INTO pauses VALUES (?, ?) ON CONFLICT (scope) "
                                     "DO UPDATE SET pause = excluded.pause",
                                     (scope, _encode_pause(pause)))
            except sqlite3.Error as exc:
                raise StoreError(f"containment switch not set on {self.url}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()
