"""`consume` under a failing state store and hostile messages (moto server on 127.0.0.1):
destructive actions fail closed and their message is left for the redrive policy,
notifications are sent and their message deleted, a deep message costs only itself."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from falco_response import Engine, hookimpl
from falco_response.server.sqs import SqsConsumer
from server_helpers import wait_for
from test_server_consume import Running, counts, make_queue, moto_url, sqs  # noqa: F401

ALERT = {"time": "2026-12-01T20:00:00Z", "priority": "Critical", "output": "x",
         "source": "syscall", "hostname": "node-1",
         "output_fields": {"k8s.ns.name": "payments", "k8s.pod.name": "api-1"}}


class Actions:
    def __init__(self) -> None:
        self.told: list[str] = []
        self.zapped: list[str] = []

    @hookimpl
    def register_actions(self, register: Any) -> None:
        register("zap", lambda p: lambda ctx: self.zapped.append(ctx.alert.uuid) or ctx.ok(),
                 destructive=True, blocking=False)
        register("tell", lambda p: lambda ctx: self.told.append(ctx.alert.uuid) or ctx.ok(),
                 blocking=False)


def body(rule: str, uid: str) -> str:
    return json.dumps({**ALERT, "rule": rule, "uuid": uid})


def test_consume_fails_closed_on_a_garbage_store_and_still_notifies(sqs: Any,  # noqa: F811
                                                                   tmp_path: Path) -> None:
    garbage = tmp_path / "state.db"
    garbage.write_bytes(os.urandom(2048))
    actions = Actions()
    engine = Engine.from_config({
        "version": 1, "settings": {"store": f"sqlite://{garbage}",
                                   "limits": {"destructive": {"max": 3, "per": "10m"}}},
        "responses": [
            {"name": "contain", "match": {"rule": "Terminal shell in container"},
             "actions": [{"type": "zap"}, {"type": "tell"}]},
            {"name": "notify", "match": {"rule": "Other"}, "actions": [{"type": "tell"}]}]},
        plugins=[actions], entry_points=False)
    url, dlq = make_queue(sqs, "failsafe-store", max_receives=5)
    sqs.send_message(QueueUrl=url, MessageBody=body("Terminal shell in container", "u-shell"))
    sqs.send_message(QueueUrl=url, MessageBody=body("Other", "u-other"))
    sqs.send_message(QueueUrl=url, MessageBody="[" * 100_000 + "]" * 100_000)
    running = Running(SqsConsumer(engine, sqs, url, workers=2, wait_seconds=1, visibility=30))
    try:
        wait_for(lambda: running.consumer.deleted + running.consumer.left >= 3, 30,
                 "three messages handled")
    finally:
        running.stop()
    assert actions.zapped == []
    assert sorted(actions.told) == ["u-other", "u-shell"]
    assert (running.consumer.deleted, running.consumer.left) == (1, 2)
    assert counts(sqs, url) == (0, 2)  # the two failures wait to be redelivered
