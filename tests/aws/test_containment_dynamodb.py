"""The containment switch on DynamoDB (moto server): one item, read consistently, that the
table's TTL never removes; two engines on the same table both honour a pause."""

from __future__ import annotations

from typing import Any

from falco_response import Engine, containment, hookimpl
from falco_response.state import open_store

from ..conftest import alert_dict
from .test_delivery import make_table


class Zap:
    @hookimpl
    def register_actions(self, register: Any) -> None:
        register("zap", lambda p: lambda ctx: ctx.ok(target="pod:a/b", reason="zapped"),
                 destructive=True)


def test_dynamodb_pause_reaches_every_engine_on_the_table(client: Any,
                                                          moto_endpoint: str) -> None:
    table = make_table(client)
    url = f"dynamodb://{table}?region=us-east-1&endpoint_url={moto_endpoint}"
    store = open_store(url)
    assert store.pauses() == {}
    containment.pause(store, "*", by="alice", reason="INC-9")
    containment.pause(store, "zap", by="bob", reason="flaky")
    item = client("dynamodb").get_item(TableName=table, Key={"pk": {"S": "containment"}})["Item"]
    assert "expires_at" not in item and set(item) == {"pk", "scope:*", "scope:zap"}
    config = {"version": 1, "settings": {"store": url},
              "responses": [{"name": "contain", "actions": [{"type": "zap"}, {"type": "log"}]}]}
    for _ in range(2):
        engine = Engine.from_config(config, plugins=[Zap()], entry_points=False)
        [result] = engine.handle(alert_dict())
        zap, log = result.outcomes
        assert zap.status.value == "skipped" and zap.reason is not None
        assert zap.reason.startswith("containment paused by alice")
        assert log.status.value == "ok"
        engine.close()
    containment.resume(store, "*")
    assert list(store.pauses()) == ["zap"]
    containment.resume(store, "zap")
    assert store.pauses() == {}
