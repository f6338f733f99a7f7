"""The health port is not ready before every listener is serving: it answers from its own
thread as soon as the process starts, while uvicorn may still be binding the TLS, token or
console listener (a probe that saw 200 then found the TLS port refusing connections)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from falco_response.server.run import readiness


def test_starting_until_every_listener_serves_then_the_receivers_answer() -> None:
    servers: list[Any] = [SimpleNamespace(started=True), SimpleNamespace(started=False)]
    answers = iter(["ready", "queue full"])
    ready = readiness(servers, lambda: next(answers))
    assert ready() == "starting"          # the receiver is not even asked
    servers[1].started = True
    assert ready() == "ready"
    assert ready() == "queue full"        # then the receiver's own answer, each time
    servers[0].started = False            # a listener that stopped: not ready again
    assert ready() == "starting"
