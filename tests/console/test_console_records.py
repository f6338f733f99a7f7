"""What the pages read: the live tail (one store read per interval however many browsers ask;
a record a slower replica wrote with an earlier time still shows), filters, and the
overview's counts."""

from __future__ import annotations

import time
from typing import Any

from falco_response.audit import AuditRecord
from falco_response.console.records import Filters, Overview, Tail
from falco_response.state.memory import MemoryStore


def rec(n: int, time_ns: int, status: str = "ok", target: str | None = "pod:a/b",
        rule: str = "Terminal shell in container") -> AuditRecord:
    return AuditRecord(time_ns=time_ns, alert_time_ns=time_ns, uuid=f"u{n}", rule=rule,
                       priority="Critical", hostname=None, response="contain", action="kill",
                       type="delete-pod", target=target, status=status, reason=None,
                       dry_run=False, id=f"id{n}")


class Counting(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def history(self, since_ns: int) -> list[AuditRecord]:
        self.reads += 1
        return super().history(since_ns)


def test_the_tail_reads_the_store_once_per_interval_and_keeps_late_records() -> None:
    store = Counting()
    now = [0.0]
    tail = Tail(store, every=0.5, clock=lambda: now[0])
    t = time.time_ns()
    store.record([rec(1, t)], 3600)
    seq, rows = tail.after(0)
    assert [r.id for r in rows] == ["id1"] and seq == 1
    store.record([rec(2, t + 10)], 3600)
    for _ in range(50):  # fifty browsers inside one interval: one store read
        assert tail.after(seq) == (1, [])
    assert store.reads == 1
    now[0] = 0.5
    seq, rows = tail.after(seq)
    assert [r.id for r in rows] == ["id2"]
    store.record([rec(3, t + 5)], 3600)  # a slower replica, an earlier time
    now[0] = 1.0
    seq, rows = tail.after(seq)
    assert [r.id for r in rows] == ["id3"] and seq == 3
    now[0] = 1.5
    assert tail.after(seq) == (3, [])  # nothing shown twice


def test_filters() -> None:
    query: dict[str, Any] = {"status": "failed", "target": "payments/"}
    keep = Filters(query)
    t = time.time_ns()
    assert keep(rec(1, t, "failed", "pod:payments/api-1"))
    assert not keep(rec(2, t, "ok", "pod:payments/api-1"))
    assert not keep(rec(3, t, "failed", "node:n1"))
    assert Filters({})(rec(4, t, "ok", None))


def test_overview_counts_per_minute_and_top_lists() -> None:
    now = time.time_ns()
    records = [rec(i, now - 120 * 10**9, "ok", f"pod:a/p{i % 2}") for i in range(3)]
    records += [rec(9, now - 30 * 10**9, "failed", None, rule="Other")]
    records += [rec(10, now - 2 * 86400 * 10**9)]  # older than a day: not counted
    view = Overview(records, now)
    assert view.total == 4
    assert sum(view.minutes["ok"]) == 3 and sum(view.minutes["failed"]) == 1
    assert view.minutes["ok"].index(3) < view.minutes["failed"].index(1)
    assert view.top_rules == [("Terminal shell in container", 3), ("Other", 1)]
    assert view.top_targets == [("pod:a/p0", 2), ("pod:a/p1", 1)]
