"""The SQS consumer against moto server on 127.0.0.1: delete after success, visibility
extended while working, failures left to the redrive policy, and the `consume` command."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

import recorder_plugin
from falco_response import Engine
from falco_response.server.metrics import Metrics
from falco_response.server.sqs import SqsConsumer
from server_helpers import alert, config, recorded, wait_for, write_yaml

AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def sqs(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    return boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1")


def make_queue(sqs: Any, name: str, max_receives: int = 2) -> tuple[str, str]:
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)})})["QueueUrl"]
    return url, dlq


def counts(sqs: Any, url: str) -> tuple[int, int]:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(
        attrs["ApproximateNumberOfMessagesNotVisible"])


class Running:
    def __init__(self, consumer: SqsConsumer) -> None:
        self.consumer = consumer
        self.thread = threading.Thread(target=consumer.run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.consumer.stop()
        self.thread.join(30)
        assert not self.thread.is_alive()


@pytest.fixture
def consume(sqs: Any, tmp_path: Path) -> Iterator[Any]:
    started: list[Running] = []

    def start(url: str, *, workers: int = 2, visibility: int = 30, **params: Any) -> Running:
        record = tmp_path / f"record-{len(started)}"
        metrics = Metrics()
        engine = Engine.from_config(config(record, **params),
                                    plugins=[recorder_plugin, metrics], entry_points=False)
        consumer = SqsConsumer(engine, sqs, url, workers=workers, wait_seconds=1,
                               visibility=visibility, metrics=metrics)
        running = Running(consumer)
        running.record = record  # type: ignore[attr-defined]
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def test_alerts_are_handled_then_deleted(sqs: Any, consume: Any) -> None:
    url, dlq = make_queue(sqs, "happy")
    for i in range(15):
        sqs.send_message(QueueUrl=url, MessageBody=alert(f"q-{i}").decode())
    running = consume(url)
    wait_for(lambda: len(recorded(running.record)) == 15, 30)
    wait_for(lambda: running.consumer.deleted == 15, 10)
    assert sorted(recorded(running.record)) == sorted(f"q-{i}" for i in range(15))
    assert counts(sqs, url) == (0, 0) and counts(sqs, dlq) == (0, 0)


def test_an_sns_envelope_in_the_body_is_unwrapped(sqs: Any, consume: Any) -> None:
    url, _ = make_queue(sqs, "envelope")
    envelope = {"Type": "Notification", "MessageId": "n-1", "TopicArn": "arn:aws:sns:x",
                "Message": alert("wrapped").decode(), "Timestamp": "2026-11-26T20:00:00Z"}
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(envelope))
    running = consume(url)
    wait_for(lambda: running.consumer.deleted == 1, 30)
    assert recorded(running.record) == ["wrapped"]


def test_visibility_is_extended_while_a_slow_action_runs(sqs: Any, consume: Any) -> None:
    """The action takes longer than the visibility timeout; without the heartbeat the message
    would reappear and the second worker would run it again."""
    url, dlq = make_queue(sqs, "slow", max_receives=5)
    sqs.send_message(QueueUrl=url, MessageBody=alert("slow").decode())
    running = consume(url, workers=2, visibility=2, delay_ms=5000)
    wait_for(lambda: running.consumer.deleted == 1, 30)
    assert recorded(running.record) == ["slow"]
    assert counts(sqs, url) == (0, 0) and counts(sqs, dlq) == (0, 0)


def test_failures_are_left_to_the_redrive_policy(sqs: Any, consume: Any) -> None:
    url, dlq = make_queue(sqs, "failing", max_receives=2)
    sqs.send_message(QueueUrl=url, MessageBody=alert("fails").decode())
    sqs.send_message(QueueUrl=url, MessageBody='{"not": "an alert"}')
    running = consume(url, visibility=2, fail=True)
    wait_for(lambda: counts(sqs, dlq)[0] == 2, 40, "both messages in the dead-letter queue")
    assert running.consumer.deleted == 0
    assert recorded(running.record) == ["fails", "fails"]  # tried maxReceiveCount times
    dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in dead) == sorted([alert("fails").decode(),
                                                      '{"not": "an alert"}'])


def test_the_consume_command_runs_and_stops_on_sigterm(sqs: Any, moto_url: str, tmp_path: Path,
                                                       plugin_env: dict[str, str]) -> None:
    url, _ = make_queue(sqs, "command")
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=alert(f"cmd-{i}").decode())
    record = tmp_path / "rec"
    cfg = write_yaml(tmp_path / "c.yaml", config(record))
    command = Path(sys.executable).parent / "falco-response"
    log = (tmp_path / "consume.log").open("wb")
    proc = subprocess.Popen([str(command), "consume", "--config", str(cfg), "--queue-url", url,
                             "--endpoint-url", moto_url, "--wait", "1"],
                            env={**plugin_env, **AWS_ENV}, stderr=log, stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(recorded(record)) == 5, 60)
        wait_for(lambda: counts(sqs, url) == (0, 0), 30, "the messages to be deleted")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    events = [json.loads(line) for line in (tmp_path / "consume.log").read_text().splitlines()
              if line.startswith("{")]
    assert {"event": "stopped", "deleted": 5, "left": 0}.items() <= events[-1].items()
