"""Cooldowns, blast-radius limits, counters and the audit trail on DynamoDB (moto server):
8 threads racing through one engine never exceed the limit nor act twice in a cooldown."""

from __future__ import annotations

import threading
from typing import Any

from falco_response import Engine, hookimpl
from falco_response.audit import AuditRecord
from falco_response.state import open_store
from falco_response.state.dynamodb import DynamoDBStore

from ..conftest import alert_dict
from .test_delivery import make_table
from .test_state import Clock


class Zap:
    def __init__(self) -> None:
        self.acted: list[str] = []
        self.lock = threading.Lock()

    @hookimpl
    def register_actions(self, register: Any) -> None:
        def run(ctx: Any) -> Any:
            with self.lock:
                self.acted.append(ctx.alert.pod_name)
            return ctx.ok(target=f"pod:x/{ctx.alert.pod_name}")
        register("zap", lambda p: run, destructive=True)


def pod_alert(pod: str) -> dict[str, Any]:
    data = alert_dict()
    data["output_fields"] = {**data["output_fields"], "k8s.pod.name": pod}
    return data


def storm(engine: Engine, pods: int, per_thread: int, threads: int = 8) -> list[Any]:
    barrier = threading.Barrier(threads)
    outcomes: list[Any] = []
    lock = threading.Lock()

    def work(offset: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            (result,) = engine.handle(pod_alert(f"pod-{(i + offset) % pods}"))
            with lock:
                outcomes.extend(result.outcomes)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return outcomes


def make_engine(url: str, limit: int, zap: Zap) -> Engine:
    return Engine.from_config({"version": 1, "settings": {
        "store": url, "limits": {"destructive": {"max": limit, "per": "10m"}}},
        "responses": [{"name": "r", "cooldown": "10m", "actions": [{"type": "zap"}]}]},
        plugins=[zap], entry_points=False)


def test_eight_threads_never_exceed_the_limit(client: Any, moto_endpoint: str) -> None:
    url = f"dynamodb://{make_table(client)}?region=us-east-1&endpoint_url={moto_endpoint}"
    zap = Zap()
    storm(make_engine(url, 4, zap), pods=12, per_thread=12)
    assert len(zap.acted) == 4


def test_eight_threads_act_once_per_pod_in_a_cooldown(client: Any, moto_endpoint: str) -> None:
    url = f"dynamodb://{make_table(client)}?region=us-east-1&endpoint_url={moto_endpoint}"
    zap = Zap()
    engine = make_engine(url, 100, zap)
    outcomes = storm(engine, pods=6, per_thread=12)
    assert sorted(zap.acted) == [f"pod-{i}" for i in range(6)]
    # No suppressed alert is lost: the ones counted before the winner took the count are in
    # its outcome ("N similar alerts suppressed"), the rest in the next skip's running count.
    acted = [o for o in outcomes if o.status.value == "ok" and o.target == "pod:x/pod-0"]
    (result,) = engine.handle(pod_alert("pod-0"))
    running = result.outcomes[0].detail["suppressed"]
    assert acted[0].detail.get("suppressed", 0) + running == 16  # 96 alerts / 6 pods


def test_counters_and_audit_on_dynamodb(client: Any) -> None:
    store = DynamoDBStore(make_table(client), clock=Clock())
    assert [store.incr("c", 60) for _ in range(3)] == [1, 2, 3]
    assert store.take("c") == 3 and store.take("c") == 0
    records = [AuditRecord(time_ns=1_800_000_000_000_000_000 + i, alert_time_ns=1, uuid=f"u{i}",
                           rule="r", priority="Critical", hostname="n", response="resp",
                           action="a", type="zap", target=f"pod:x/p{i}", status="ok",
                           reason="done", dry_run=False) for i in range(30)]
    store.record(records, 3600)
    assert store.history(0) == records
    assert [r.uuid for r in store.history(records[25].time_ns)] == ["u25", "u26", "u27", "u28",
                                                                    "u29"]


def test_expired_counter_starts_again(client: Any) -> None:
    clock = Clock()
    store = DynamoDBStore(make_table(client), clock=clock)
    store.incr("c", 10)
    store.incr("c", 10)
    clock.now += 11
    assert store.incr("c", 10) == 1


def test_open_store_by_url_gives_dynamodb(client: Any, moto_endpoint: str) -> None:
    store = open_store(f"dynamodb://{make_table(client)}?region=us-east-1"
                       f"&endpoint_url={moto_endpoint}")
    assert isinstance(store, DynamoDBStore)
