"""Eight processes race one cooldown key, one limit and one counter on a real redis-server:
the counts are exact."""

from __future__ import annotations

import multiprocessing
from typing import Any

from falco_response.state.redis import RedisStore

PROCESSES = 8
TRIES = 100
SLOTS = [f"limit:destructive:{i}" for i in range(3)]


def race(url: str, barrier: Any, results: Any) -> None:
    store = RedisStore(url)
    barrier.wait(60)
    cooldowns = slots = 0
    for _ in range(TRIES):
        cooldowns += store.claim("cooldown:r:kill:abc", 600)
        slots += next((1 for k in SLOTS if store.claim(k, 600)), 0)
        store.incr("suppressed", 600)
    results.put((cooldowns, slots))
    store.close()


def test_eight_processes_one_cooldown_one_limit_exact_counts(redis_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [ctx.Process(target=race, args=(redis_url, barrier, results))
             for _ in range(PROCESSES)]
    for proc in procs:
        proc.start()
    got = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    assert sum(c for c, _ in got) == 1
    assert sum(s for _, s in got) == 3
    store = RedisStore(redis_url)
    assert store.take("suppressed") == PROCESSES * TRIES
    store.close()
