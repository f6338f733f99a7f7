"""`consume`: a message whose handling raised, or whose result says it was not handled (an
empty batch, nothing parsed), is never deleted: SQS redrives it to the dead-letter queue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import recorder_plugin
from falco_response import Engine
from falco_response.server.metrics import Metrics
from falco_response.server.sqs import SqsConsumer
from server_helpers import alert, config, recorded, wait_for
from test_server_consume import Running, counts, make_queue, moto_url, sqs  # noqa: F401 - fixtures


def test_a_raise_or_an_empty_result_leaves_the_message_to_the_redrive_policy(
        sqs: Any, tmp_path: Path) -> None:
    url, dlq = make_queue(sqs, "raising", max_receives=2)
    record = tmp_path / "record"
    engine = Engine.from_config(config(record), plugins=[recorder_plugin, Metrics()],
                                entry_points=False)
    real = engine.handle

    def handle(payload: Any) -> Any:
        if "raise-me" in payload:
            raise RuntimeError("boom for the test")
        return real(payload)

    engine.handle = handle  # type: ignore[method-assign]
    for body in (alert("raise-me").decode(), '{"Records": []}', "", alert("fine").decode()):
        sqs.send_message(QueueUrl=url, MessageBody=body or " ")
    running = Running(SqsConsumer(engine, sqs, url, workers=2, wait_seconds=1, visibility=2))
    try:
        wait_for(lambda: counts(sqs, dlq)[0] == 3, 60, "three messages in the dead-letter queue")
        assert running.consumer.deleted == 1 and recorded(record) == ["fine"]
        dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
        assert sorted(m["Body"] for m in dead) == sorted([alert("raise-me").decode(),
                                                          '{"Records": []}', " "])
    finally:
        running.stop()
