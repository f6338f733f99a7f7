"""Opening the queue's SQLite file, and what to do when it is corrupt.

A queue on an ``emptyDir`` outlives container restarts, so a file left half-written (a full
disk, a node losing power with ``--queue-sync normal``, random bytes from a bad volume) would
otherwise make every start fail: a crash loop, with every later alert refused. By default
(``--queue-recover=aside``) a file SQLite calls corrupt or "not a database" is renamed to
``<path>.corrupt-<UTC time>`` (with its ``-wal`` and ``-shm``), one ``critical`` line says
how many bytes were set aside and where, and the queue starts empty. ``refuse`` keeps the
strict behaviour: :class:`QueueCorrupt`, which ``serve`` reports and exits with code 4.

Other errors (a locked file, no permission, a full disk) are never taken for corruption: the
file may be fine and in use, so they raise :class:`QueueUnusable` instead.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Literal

Recover = Literal["aside", "refuse"]
SUFFIXES = ("", "-wal", "-shm")
_CORRUPT_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


class QueueCorrupt(Exception):
    """The queue file is not a usable SQLite database (``--queue-recover=refuse``)."""


class QueueUnusable(Exception):
    """The queue file could not be opened, for a reason other than corruption."""


class _Corrupt(sqlite3.DatabaseError):
    """``PRAGMA quick_check`` found damage that opening the file did not."""


SCHEMA = (
    "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, body BLOB NOT NULL, "
    "received REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS dead_letters (id INTEGER PRIMARY KEY, item INTEGER NOT NULL, "
    "body BLOB NOT NULL, received REAL NOT NULL, failed REAL NOT NULL, "
    "attempts INTEGER NOT NULL, error TEXT NOT NULL, redrive INTEGER NOT NULL DEFAULT 0)",
)


def connect(path: str, *, synchronous: str, journal_limit: int) -> sqlite3.Connection:
    """The writer's connection, in WAL mode with the tables made, checked for damage."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA busy_timeout=5000")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        db.execute("PRAGMA wal_autocheckpoint=0")
        db.execute(f"PRAGMA journal_size_limit={journal_limit}")
        if path != ":memory:":
            found = [row[0] for row in db.execute("PRAGMA quick_check")]
            if found != ["ok"]:
                raise _Corrupt("; ".join(str(f) for f in found[:3]))
        for statement in SCHEMA:
            db.execute(statement)
    except BaseException:
        db.close()
        raise
    return db


def is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, _Corrupt) or (code is not None and code & 0xFF in _CORRUPT_CODES) \
        or (code is None and not isinstance(exc, sqlite3.OperationalError))


def set_aside(path: str) -> tuple[str, int]:
    """Rename ``path`` and its ``-wal``/``-shm`` to ``<path>.corrupt-<time>``; the new name
    and the bytes moved."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = f"{path}.corrupt-{stamp}"
    n = 1
    while any(os.path.lexists(target + s) for s in SUFFIXES):
        n += 1
        target = f"{path}.corrupt-{stamp}-{n}"
    moved = 0
    for suffix in SUFFIXES:
        if os.path.lexists(path + suffix):
            moved += os.path.getsize(path + suffix)
            os.replace(path + suffix, target + suffix)
    return target, moved


def open_queue_file(path: str, *, synchronous: str, journal_limit: int, recover: Recover,
                    log: Any) -> tuple[sqlite3.Connection, list[tuple[int, bytes, float]]]:
    """The writer's connection and the items left from the last run (oldest first)."""
    if path == ":memory:":
        return _open_and_read(path, synchronous, journal_limit)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # SQLite deletes the -wal and -shm when it closes a file it could not use: hold on to
    # them (hard links) so that what is set aside is what was there.
    held = _hold(path)
    try:
        return _open_and_read(path, synchronous, journal_limit)
    except sqlite3.DatabaseError as exc:
        if not is_corrupt(exc):
            raise QueueUnusable(f"the queue file {path} cannot be opened: {exc}") from None
        if recover == "refuse":
            _restore(path, held)
            raise QueueCorrupt(f"the queue file {path} is corrupt ({exc}); move it aside, or "
                               "start with --queue-recover=aside") from None
        _restore(path, held)
        held = {}
        target, moved = set_aside(path)
        if log is not None:
            log.critical("queue file corrupt: set aside, starting with a fresh queue",
                         path=path, moved_to=target, bytes=moved, error=str(exc)[:200])
    finally:
        for link in held.values():
            _unlink(link)
    try:
        return _open_and_read(path, synchronous, journal_limit)
    except sqlite3.DatabaseError as exc:
        raise QueueUnusable(f"the queue file {path} cannot be opened: {exc}") from None


def _hold(path: str) -> dict[str, str]:
    held = {}
    for suffix in SUFFIXES[1:]:
        if os.path.exists(path + suffix):
            link = f"{path}{suffix}.opening"
            try:
                _unlink(link)
                os.link(path + suffix, link)
            except OSError:
                continue
            held[suffix] = link
    return held


def _restore(path: str, held: dict[str, str]) -> None:
    """Put back the -wal and -shm that SQLite removed; drop the links of the others."""
    for suffix, link in held.items():
        if os.path.lexists(path + suffix):
            _unlink(link)
        else:
            os.replace(link, path + suffix)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _open_and_read(path: str, synchronous: str, journal_limit: int
                   ) -> tuple[sqlite3.Connection, list[tuple[int, bytes, float]]]:
    db = connect(path, synchronous=synchronous, journal_limit=journal_limit)
    try:
        rows = [(row[0], bytes(row[1]), row[2]) for row in
                db.execute("SELECT id, body, received FROM items ORDER BY id")]
    except BaseException:
        db.close()
        raise
    return db, rows


RESERVE_BYTES = 1024 * 1024
"""Disk space held beside the queue file (``<path>-reserve``) and given up when the disk
fills, so acknowledgements and dead letters still have room to commit."""


def make_reserve(path: str, size: int) -> bool:
    """Allocate ``size`` bytes at ``path`` (really allocated, not a sparse file); False
    when there is no room for them."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            try:
                os.posix_fallocate(fd, 0, size)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                    raise
                os.lseek(fd, 0, os.SEEK_SET)
                for start in range(0, size, 65536):
                    os.write(fd, b"\0" * min(65536, size - start))
                os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        drop_reserve(path)
        return False
    return True


def drop_reserve(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
