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


def race_through_a_restart(url: str, barrier: Any, results: Any) -> None:
    import time

    from falco_response.state import StoreError

    store = RedisStore(url + "?timeout=1")
    barrier.wait(60)
    cooldowns = slots = errors = 0
    deadline = time.monotonic() + 60
    for _ in range(120):
        if time.monotonic() > deadline:
            break
        try:
            cooldowns += store.claim("cooldown:r:kill:abc", 600)
            slots += next((1 for k in SLOTS if store.claim(k, 600)), 0)
        except StoreError:
            errors += 1
        time.sleep(0.03)
    results.put((cooldowns, slots, errors))
    store.close()


def test_eight_processes_race_through_a_server_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import time

    from redis_server import RedisServer

    server = RedisServer(tmp_path, persist=True)
    server.start()
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES + 1)
    results = ctx.Queue()
    procs = [ctx.Process(target=race_through_a_restart, args=(server.url, barrier, results))
             for _ in range(PROCESSES)]
    try:
        for proc in procs:
            proc.start()
        barrier.wait(120)
        time.sleep(0.5)
        server.stop()  # SIGKILL; down longer than the client's quick retries
        time.sleep(2.0)
        server.start()  # the same port and append-only file
        got = [results.get(timeout=180) for _ in procs]
        for proc in procs:
            proc.join(60)
            assert proc.exitcode == 0  # store errors were values, no process crashed
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.kill()
        server.stop()
    assert sum(c for c, _, _ in got) == 1  # the claims made before the restart survived it
    assert sum(s for _, s, _ in got) == 3
    assert sum(e for _, _, e in got) >= 1  # the outage was felt, as StoreError
