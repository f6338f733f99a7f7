"""A state store in this process's memory: tests, ``falco-response handle`` on one host, and a
Lambda without a table (it then only catches redeliveries that reach the same warm instance)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from ..audit import AuditRecord
from .pause import Pause


class MemoryStore:
    """Claims in a dict under a lock. Nothing survives the process."""

    url = "memory://"

    def __init__(self, *, clock: Callable[[], float] = time.time, max_keys: int = 100_000,
                 max_records: int = 10_000) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._claims: dict[str, float] = {}
        self._counters: dict[str, tuple[int, float]] = {}
        self._values: dict[str, tuple[bytes, float]] = {}
        self._records: deque[tuple[float, AuditRecord]] = deque(maxlen=max_records)
        self._pauses: dict[str, Pause] = {}
        self._lock = threading.Lock()

    def claim(self, key: str, ttl_seconds: float) -> bool:
        now = self._clock()
        with self._lock:
            expires = self._claims.get(key)
            if expires is not None and expires > now:
                return False
            if len(self._claims) >= self._max_keys:
                self._claims = {k: v for k, v in self._claims.items() if v > now}
            self._claims[key] = now + ttl_seconds
            return True

    def held(self, key: str) -> bool:
        with self._lock:
            expires = self._claims.get(key)
        return expires is not None and expires > self._clock()

    def release(self, key: str) -> None:
        with self._lock:
            self._claims.pop(key, None)

    def incr(self, key: str, ttl_seconds: float) -> int:
        now = self._clock()
        with self._lock:
            value, expires = self._counters.get(key, (0, 0.0))
            value = value + 1 if expires > now else 1
            if len(self._counters) >= self._max_keys:
                self._counters = {k: v for k, v in self._counters.items() if v[1] > now}
            self._counters[key] = (value, now + ttl_seconds)
            return value

    def take(self, key: str) -> int:
        now = self._clock()
        with self._lock:
            value, expires = self._counters.pop(key, (0, 0.0))
            return value if expires > now else 0

    def record(self, records: Sequence[AuditRecord], ttl_seconds: float) -> None:
        expires = self._clock() + ttl_seconds
        with self._lock:
            self._records.extend((expires, r) for r in records)

    def history(self, since_ns: int) -> list[AuditRecord]:
        now = self._clock()
        with self._lock:
            return [r for expires, r in self._records if expires > now and r.time_ns >= since_ns]

    def put(self, key: str, value: bytes, ttl_seconds: float) -> None:
        with self._lock:
            self._values[key] = (bytes(value), self._clock() + ttl_seconds)

    def put_new(self, key: str, value: bytes, ttl_seconds: float) -> bytes | None:
        now = self._clock()
        with self._lock:
            old = self._values.get(key)
            if old is not None and old[1] > now:
                return old[0]
            self._values[key] = (bytes(value), now + ttl_seconds)
            return None

    def get(self, key: str) -> bytes | None:
        with self._lock:
            found = self._values.get(key)
        return found[0] if found is not None and found[1] > self._clock() else None

    def scan(self, prefix: str) -> list[tuple[str, bytes]]:
        now = self._clock()
        with self._lock:
            return sorted((k, v) for k, (v, exp) in self._values.items()
                          if k.startswith(prefix) and exp > now)

    def pauses(self) -> dict[str, Pause]:
        with self._lock:
            return dict(self._pauses)

    def set_pause(self, scope: str, pause: Pause | None) -> None:
        with self._lock:
            if pause is None:
                self._pauses.pop(scope, None)
            else:
                self._pauses[scope] = pause

    def close(self) -> None:
        with self._lock:
            self._values.clear()
            self._claims.clear()
            self._counters.clear()
            self._records.clear()
