"""State stores: claims are atomic across threads (DynamoDB on moto) and processes (SQLite),
expire, and can be released."""

from __future__ import annotations

import multiprocessing
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from falco_response.state import StateStore, StoreError, open_store
from falco_response.state.dynamodb import DynamoDBStore
from falco_response.state.memory import MemoryStore
from falco_response.state.sqlite import SQLiteStore

from .test_delivery import make_table


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def race(store: StateStore, key: str, threads: int = 8) -> list[bool]:
    barrier = threading.Barrier(threads)
    results: list[bool] = []
    lock = threading.Lock()

    def claim() -> None:
        barrier.wait()
        won = store.claim(key, 60)
        with lock:
            results.append(won)

    workers = [threading.Thread(target=claim) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return results


def test_dynamodb_eight_threads_one_winner(client: Any, moto_endpoint: str) -> None:
    table = make_table(client)
    store = open_store(f"dynamodb://{table}?region=us-east-1&endpoint_url={moto_endpoint}")
    assert isinstance(store, DynamoDBStore)
    for round_ in range(5):
        results = race(store, f"fn:uuid:{round_}")
        assert sorted(results) == [False] * 7 + [True]
    item = client("dynamodb").get_item(TableName=table, Key={"pk": {"S": "fn:uuid:0"}})["Item"]
    assert "expires_at" in item


def test_dynamodb_release_and_expiry(client: Any) -> None:
    table = make_table(client)
    clock = Clock()
    store = DynamoDBStore(table, clock=clock)
    assert store.claim("k", 30)
    assert not store.claim("k", 30)
    store.release("k")
    store.release("k")  # idempotent
    assert store.claim("k", 30)
    clock.now += 31  # DynamoDB's TTL sweep is lazy: an expired item is taken over
    assert store.claim("k", 30)
    assert not store.claim("k", 30)


def test_dynamodb_missing_table_is_a_store_error(client: Any) -> None:
    store = DynamoDBStore("no-such-table")
    with pytest.raises(StoreError, match="ResourceNotFoundException"):
        store.claim("k", 30)


def _claim_many(path: str, keys: list[str], out: Any, start: Any) -> None:
    store = SQLiteStore(path)
    start.wait()
    won = [k for k in keys if store.claim(k, 600)]
    store.close()
    out.put(won)


def test_sqlite_claims_are_exclusive_across_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "state.db")
    keys = [f"k{i}" for i in range(60)]
    context = multiprocessing.get_context("spawn")
    out, start = context.Queue(), context.Event()
    procs = [context.Process(target=_claim_many, args=(path, keys, out, start)) for _ in range(4)]
    for p in procs:
        p.start()
    start.set()
    won = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    flat = [k for batch in won for k in batch]
    assert sorted(flat) == sorted(keys)  # every key claimed exactly once, by one process
    assert SQLiteStore(path).url == f"sqlite://{path}"


def test_sqlite_threads_release_and_expiry(tmp_path: Path) -> None:
    clock = Clock()
    store = SQLiteStore(tmp_path / "s.db", clock=clock)
    assert sorted(race(store, "same")) == [False] * 7 + [True]
    store.release("same")
    assert store.claim("same", 10)
    clock.now += 11
    assert store.claim("same", 10)
    assert not store.claim("same", 10)


def test_memory_store_release_and_expiry() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    assert sorted(race(store, "x")) == [False] * 7 + [True]
    clock.now += 61
    assert store.claim("x", 5)
    store.release("x")
    assert store.claim("x", 5)


def test_open_store_by_url_and_settings(tmp_path: Path) -> None:
    from falco_response import Settings

    assert isinstance(open_store("memory://"), MemoryStore)
    assert isinstance(open_store(Settings()), MemoryStore)
    sqlite = open_store(Settings(store=f"sqlite://{tmp_path}/a/b.db"))
    assert isinstance(sqlite, SQLiteStore) and (tmp_path / "a" / "b.db").exists()
    for url, problem in [("bogus://x", "unknown scheme"), ("sqlite://", "names no file"),
                         ("dynamodb://", "names no table"),
                         ("dynamodb://t?colour=red", "unknown option")]:
        with pytest.raises(ValueError, match=problem):
            open_store(url)


def test_config_names_the_store(lambda_env: Any, tmp_path: Path) -> None:
    from falco_response import aws_lambda

    db = tmp_path / f"{uuid.uuid4().hex}.db"
    lambda_env({"version": 1, "settings": {"store": f"sqlite://{db}"},
                "responses": [{"name": "r", "actions": [{"type": "log"}]}]})
    runtime = aws_lambda.init()
    assert runtime.store is not None and runtime.store.url == f"sqlite://{db}"
