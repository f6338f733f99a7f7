"""A fuzz run through the HTTP receiver: 10,000 mutated sample payloads over one keep-alive
connection. Zero crashes: every answer is 202 (queued) or a refusal with its reason, and the
server is healthy at the end."""

from __future__ import annotations

import json
from collections import Counter

from tests.fuzzing import mutated_payloads


def test_ten_thousand_mutated_payloads_through_post(serve) -> None:  # type: ignore[no-untyped-def]
    running = serve(queue_max=20_000)
    client = running.client()
    answers: Counter[int] = Counter()
    for payload in mutated_payloads(10_000, seed=7):
        body = payload if isinstance(payload, bytes) else (
            payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
        status, _, reply = client.post(body)
        answers[status] += 1
        assert status in (202, 400), (status, reply)
        if status == 400:
            assert isinstance(reply, dict) and reply.get("error"), reply
    assert answers[202] > 1000 and answers[400] > 1000, answers
    status, _, _ = client.get("/healthz")
    assert status == 200
