"""What the console's pages ask of the audit trail: filtered lists, one alert's records, the
live tail, and the overview's counts. Everything here reads ``store.history``, so it works
on every store; a store that fails raises :class:`~falco_response.state.StoreError`."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..audit import AuditRecord

STATUSES = ("ok", "skipped", "dry_run", "failed", "pending")
DAY_NS = 86400 * 10**9
TAIL_SECONDS = 0.5
TAIL_KEEP = 1000


class Filters:
    """The filters a page's form sends (exact status/response/action/rule, a substring of the
    target), all optional."""

    FIELDS = ("status", "response", "action", "rule", "target")

    def __init__(self, query: Mapping[str, str]) -> None:
        self.values = {k: query.get(k, "").strip()[:200] for k in self.FIELDS}

    def __call__(self, record: AuditRecord) -> bool:
        v = self.values
        return ((not v["status"] or record.status == v["status"])
                and (not v["response"] or record.response == v["response"])
                and (not v["action"] or record.action == v["action"])
                and (not v["rule"] or record.rule == v["rule"])
                and (not v["target"] or v["target"] in (record.target or "")))


def alert_key(record: AuditRecord) -> tuple[Any, ...]:
    """Records of the same alert: its uuid, else its time, rule and host."""
    if record.uuid:
        return ("uuid", record.uuid)
    return ("alert", record.alert_time_ns, record.rule, record.hostname)


def find(store: Any, record_id: str, lookback_ns: int) -> tuple[AuditRecord | None,
                                                              list[AuditRecord]]:
    """The record ``record_id`` and every record of the same alert (undos of them included),
    oldest first."""
    history = store.history(time.time_ns() - lookback_ns)
    found = next((r for r in history if r.id == record_id), None)
    if found is None:
        return None, []
    key = alert_key(found)
    same = [r for r in history if alert_key(r) == key]
    return found, same


def undone(records: Iterable[AuditRecord]) -> dict[str, AuditRecord]:
    """Record id -> the successful undo of it."""
    return {str((r.undo or {}).get("of")): r for r in records
            if r.response == "undo" and r.status == "ok" and not r.dry_run}


class Tail:
    """The newest records, read from the store at most once per ``every`` seconds however
    many browsers poll (the Live page asks every second). Each record gets a sequence number
    in the order this console first saw it: a browser asks for what came after the last
    number it has, so a record a slower replica wrote with an earlier time still shows."""

    OVERLAP_NS = 10 * 10**9

    def __init__(self, store: Any, *, every: float = TAIL_SECONDS, keep: int = TAIL_KEEP,
                 since_ns: int | None = None, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self._store = store
        self._every = every
        self._clock = clock
        self._records: deque[tuple[int, AuditRecord]] = deque(maxlen=keep)
        self._seen: dict[str, int] = {}
        self._seq = 0
        self._next_ns = since_ns if since_ns is not None else time.time_ns() - 3600 * 10**9
        self._read_at = -1e18
        self._lock = threading.Lock()

    def after(self, seq: int) -> tuple[int, list[AuditRecord]]:
        """(the newest sequence number, the records after ``seq``, oldest first)."""
        with self._lock:
            if self._clock() - self._read_at >= self._every:
                self._read_at = self._clock()
                for record in self._store.history(self._next_ns - self.OVERLAP_NS):
                    if record.id not in self._seen:
                        self._seq += 1
                        self._seen[record.id] = record.time_ns
                        self._records.append((self._seq, record))
                        self._next_ns = max(self._next_ns, record.time_ns)
                horizon = self._next_ns - 2 * self.OVERLAP_NS
                if len(self._seen) > 4 * (self._records.maxlen or TAIL_KEEP):
                    self._seen = {k: v for k, v in self._seen.items() if v >= horizon}
            return self._seq, [r for n, r in self._records if n > seq]


class Overview:
    """Outcomes per minute by status over the last 24 h; the top rules and targets."""

    def __init__(self, records: Iterable[AuditRecord], now_ns: int, *, top: int = 10) -> None:
        start = now_ns - DAY_NS
        self.minutes: dict[str, list[int]] = {s: [0] * 1440 for s in STATUSES}
        rules: Counter[str] = Counter()
        targets: Counter[str] = Counter()
        self.total = 0
        for r in records:
            if r.time_ns < start or r.response == "undo":
                continue
            minute = min(int((r.time_ns - start) // (60 * 10**9)), 1439)
            if r.status in self.minutes:
                self.minutes[r.status][minute] += 1
            rules[r.rule] += 1
            if r.target:
                targets[r.target] += 1
            self.total += 1
        self.top_rules = rules.most_common(top)
        self.top_targets = targets.most_common(top)
        self.start_ns = start
