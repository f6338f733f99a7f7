"""The store primitives approvals use (put, put_new, get, scan) on every backend: memory,
SQLite (several processes), DynamoDB on moto server."""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from falco_response.state import open_store


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    import os

    from moto.server import ThreadedMotoServer

    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)


def dynamodb_table(endpoint: str, name: str) -> None:
    import boto3

    boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint).create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])


def redis_store(redis_url: str) -> Any:
    from falco_response.state.redis import RedisStore

    return RedisStore(redis_url.replace("?prefix=", f"?prefix={uuid.uuid4().hex[:6]}-"))


def test_values_on_redis(redis_url: str) -> None:
    """Redis keeps time itself (PX): expiry is the server's, so this waits for real."""
    store = redis_store(redis_url)
    store.put("approval:req:a", b"one", 60)
    store.put("approval:req:b*[?", b"two", 0.3)
    store.put("approval:reqx", b"not under the prefix", 60)
    store.put("other:x", b"three", 60)
    assert store.get("approval:req:a") == b"one"
    assert store.scan("approval:req:") == [("approval:req:a", b"one"),
                                           ("approval:req:b*[?", b"two")]
    assert store.scan("approval:req:b*") == [("approval:req:b*[?", b"two")]
    assert store.put_new("approval:dec:a", b"first", 60) is None
    assert store.put_new("approval:dec:a", b"second", 60) == b"first"
    time.sleep(0.5)
    assert store.get("approval:req:b*[?") is None
    assert store.scan("approval:req:") == [("approval:req:a", b"one")]
    store.close()


def stores(tmp_path: Path, moto: str, clock: Clock) -> list[Any]:
    from falco_response.state.dynamodb import DynamoDBStore
    from falco_response.state.memory import MemoryStore
    from falco_response.state.sqlite import SQLiteStore

    table = f"t{abs(hash(tmp_path)) % 10**8}"
    dynamodb_table(moto, table)
    return [MemoryStore(clock=clock), SQLiteStore(tmp_path / "s.db", clock=clock),
            DynamoDBStore(table, region="us-east-1", endpoint_url=moto, clock=clock)]


def test_values_on_every_store(tmp_path: Path, moto: str) -> None:
    clock = Clock()
    for store in stores(tmp_path, moto, clock):
        assert store.get("approval:req:a") is None
        store.put("approval:req:a", b"one", 60)
        store.put("approval:req:b_%", b"two", 120)
        store.put("other:x", b"three", 60)
        assert store.get("approval:req:a") == b"one"
        assert store.scan("approval:req:") == [("approval:req:a", b"one"),
                                               ("approval:req:b_%", b"two")]
        assert store.scan("approval:req:b_") == [("approval:req:b_%", b"two")]
        assert store.put_new("approval:dec:a", b"first", 60) is None
        assert store.put_new("approval:dec:a", b"second", 60) == b"first"
        store.put("approval:req:a", b"uno", 60)  # put replaces
        assert store.get("approval:req:a") == b"uno"
        clock.now += 61
        assert store.get("approval:req:a") is None  # expired
        assert store.scan("approval:req:") == [("approval:req:b_%", b"two")]
        assert store.put_new("approval:dec:a", b"third", 60) is None  # expired: replaced
        assert store.get("approval:dec:a") == b"third"
        clock.now -= 61
        store.close()


def test_put_new_one_winner_among_threads(tmp_path: Path, moto: str, redis_url: str) -> None:
    for store in [*stores(tmp_path, moto, Clock()), redis_store(redis_url)]:
        wins: list[bool] = []
        lock = threading.Lock()

        def race(i: int, store: Any = store) -> None:
            won = store.put_new("approval:dec:race", f"v{i}".encode(), 60) is None
            with lock:
                wins.append(won)

        threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(wins) == [False] * 7 + [True], store.url
        store.close()


def _put_new(path: str, value: str, out: Any, start: Any) -> None:
    store = open_store(f"sqlite://{path}")
    start.wait(10)
    out.put(store.put_new("approval:dec:p", value.encode(), 60) is None)


def test_put_new_one_winner_across_sqlite_processes(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    out, start = ctx.Queue(), ctx.Event()
    path = str(tmp_path / "shared.db")
    open_store(f"sqlite://{path}").close()
    procs = [ctx.Process(target=_put_new, args=(path, f"p{i}", out, start)) for i in range(4)]
    for proc in procs:
        proc.start()
    start.set()
    results = [out.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(30)
    assert sorted(results) == [False, False, False, True]
