"""The containment switch on Redis: one hash without a TTL, seen by every store on the
server; an engine on it skips destructive actions while paused."""

from __future__ import annotations

from typing import Any

from falco_response import Engine, containment, hookimpl
from falco_response.state import open_store


class Zap:
    @hookimpl
    def register_actions(self, register: Any) -> None:
        register("zap", lambda p: lambda ctx: ctx.ok(target="pod:a/b", reason="zapped"),
                 destructive=True)


ALERT = {"time": "2026-12-01T20:00:00Z", "rule": "Terminal shell in container",
         "priority": "Critical", "output": "shell", "output_fields": {}}


def test_a_pause_on_redis_reaches_another_store_and_an_engine(redis_url: str) -> None:
    one, two = open_store(redis_url), open_store(redis_url)
    assert one.pauses() == {}
    entry = containment.pause(one, "*", by="alice", reason="INC-9")
    assert two.pauses() == {"*": entry}
    client = two._client  # type: ignore[attr-defined]
    assert client.pttl(two.key("pause", "switch")) == -1  # never expires
    config = {"version": 1, "settings": {"store": redis_url},
              "responses": [{"name": "contain", "actions": [{"type": "zap"}, {"type": "log"}]}]}
    engine = Engine.from_config(config, plugins=[Zap()], entry_points=False)
    [result] = engine.handle(ALERT)
    zap, log = result.outcomes
    assert zap.status.value == "skipped" and (zap.reason or "").startswith(
        "containment paused by alice at ")
    assert log.status.value == "ok"
    engine.close()
    containment.resume(two, "*")
    assert one.pauses() == {}
