"""``consume nats://`` against a real nats-server with JetStream: alerts published as
falcosidekick does are acted on and acked; in-progress acks hold a slow action; failures are
redelivered, then dead-lettered with a reason, as is a message that is not an alert; a
consumer killed mid-batch loses nothing; two consumers split a stream."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import recorder_plugin
from falco_response import Engine
from falco_response.server.jetstream import REASON, JetStreamConsumer
from falco_response.server.nats_source import connect_options, parse_nats_url
from nats_server import (NatsServer, consumer_state, dead_letters, make_streams, publish,
                         sidekick_alert)
from server_helpers import config, recorded, wait_for, write_yaml


def source_url(server: NatsServer, **options: Any) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"stream": "FALCO", "consumer": "falco-response",
                                             **options}.items())
    return f"{server.url}?{query}"


class Running:
    def __init__(self, consumer: JetStreamConsumer) -> None:
        self.consumer = consumer
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        wait_for(lambda: consumer.connected.is_set() or self.error is not None, 30,
                 "the consumer to connect")

    def _run(self) -> None:
        try:
            self.consumer.run()
        except BaseException as exc:  # surfaced by the test
            self.error = exc

    def stop(self) -> None:
        self.consumer.stop()
        self.thread.join(60)
        assert not self.thread.is_alive()


@pytest.fixture
def consume(tmp_path: Path) -> Iterator[Any]:
    started: list[Running] = []

    def start(url: str, record: Path, *, workers: int = 4, **params: Any) -> Running:
        engine = Engine.from_config(config(record, **params), plugins=[recorder_plugin],
                                    entry_points=False)
        running = Running(JetStreamConsumer(engine, parse_nats_url(url), workers=workers,
                                            fetch_wait=1.0))
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def test_url_parsing_and_refusals() -> None:
    src = parse_nats_url("nats://a:4222,b:4223?stream=FALCO&consumer=fr&max_deliver=3"
                         "&ack_wait=10&subject=falco.critical.>")
    assert src.servers == ("nats://a:4222", "nats://b:4223")
    assert (src.stream, src.consumer, src.max_deliver, src.ack_wait, src.subject) == (
        "FALCO", "fr", 3, 10.0, "falco.critical.>")
    assert parse_nats_url("tls://n:4222?stream=S&consumer=C").tls
    for bad, why in [("nats://h:4222?stream=S", "consumer"),
                     ("nats://u:secret@h:4222?stream=S&consumer=C", "credentials do not go"),
                     ("nats://h:4222?stream=S&consumer=C&bogus=1", "unknown option"),
                     ("nats://h:99999?stream=S&consumer=C", "bad port"),
                     ("nats://h?stream=S&consumer=C&max_deliver=0", "max_deliver"),
                     ("nats://h?stream=a.b&consumer=C", "no spaces, dots")]:
        with pytest.raises(ValueError, match=why):
            parse_nats_url(bad)


def test_credentials_come_from_the_environment() -> None:
    src = parse_nats_url("nats://h:4222?stream=S&consumer=C")
    env = {"FALCO_RESPONSE_NATS_TOKEN": "t0k", "FALCO_RESPONSE_NATS_CREDS": "/x.creds",
           "FALCO_RESPONSE_NATS_NKEY_SEED": "/seed"}
    assert connect_options(src, env) == {"token": "t0k", "user_credentials": "/x.creds",
                                         "nkeys_seed": "/seed"}
    assert "tls" in connect_options(parse_nats_url("tls://h?stream=S&consumer=C"), {})


def test_falcosidekick_alerts_are_acted_on_once_and_acked(
        nats_server: NatsServer, consume: Any, tmp_path: Path) -> None:
    alerts = [sidekick_alert(f"u{i}") for i in range(40)]
    publish(nats_server.url, alerts)
    record = tmp_path / "record.txt"
    running = consume(source_url(nats_server), record)
    wait_for(lambda: len(recorded(record)) >= 40, 60, "40 alerts")
    wait_for(lambda: running.consumer.acked == 40, 30, "40 acks")
    assert sorted(recorded(record)) == sorted(a["uuid"] for a in alerts)
    info = consumer_state(nats_server.url)
    assert (info.num_pending, info.num_ack_pending, info.num_redelivered) == (0, 0, 0)


def test_a_slow_action_is_kept_with_in_progress_acks(
        nats_server: NatsServer, consume: Any, tmp_path: Path) -> None:
    publish(nats_server.url, [sidekick_alert("slow")])
    record = tmp_path / "record.txt"
    running = consume(source_url(nats_server, ack_wait=1), record, delay_ms=3500)
    wait_for(lambda: running.consumer.acked == 1, 60, "the slow alert's ack")
    assert recorded(record) == ["slow"]  # not redelivered although 3.5 s > ack_wait of 1 s
    assert consumer_state(nats_server.url).num_redelivered == 0


def test_failures_are_redelivered_then_dead_lettered_and_garbage_at_once(
        nats_server: NatsServer, consume: Any, tmp_path: Path) -> None:
    publish(nats_server.url, [b"{not json", sidekick_alert("fails")])
    record = tmp_path / "record.txt"
    running = consume(source_url(nats_server, max_deliver=2), record, fail=True)
    found = dead_letters(nats_server.url, expect=2, timeout=60)
    by_reason = {headers[REASON].split(":")[0].split(" on ")[0]: (headers, data)
                 for headers, data in found}
    assert set(by_reason) == {"not an alert", "actions failed"}
    garbage_headers, garbage = by_reason["not an alert"]
    assert garbage == b"{not json" and garbage_headers["Falco-Response-Deliveries"] == "1"
    failed_headers, body = by_reason["actions failed"]
    assert json.loads(body)["uuid"] == "fails"
    assert failed_headers["Falco-Response-Deliveries"] == "2"
    assert failed_headers["Falco-Response-Subject"] == "falco.critical.terminal_shell_in_container"
    assert recorded(record) == ["fails", "fails"]  # tried twice, then set aside
    wait_for(lambda: running.consumer.dead == 2, 10, "two dead letters")
    info = consumer_state(nats_server.url)
    assert (info.num_pending, info.num_ack_pending) == (0, 0)


def test_a_dead_letter_subject_without_a_stream_keeps_the_message(
        tmp_path: Path, consume: Any) -> None:
    server = NatsServer(tmp_path)
    server.start()
    try:
        make_streams(server.url)
        publish(server.url, [b"garbage"])
        running = consume(source_url(server, dead_letter="nowhere.dead"), tmp_path / "r.txt")
        wait_for(lambda: running.consumer.kept >= 1, 30, "the dead-letter publish to fail")
        assert running.consumer.dead == 0
        info = consumer_state(server.url)
        assert info.num_ack_pending == 1  # nak'ed with a delay, not terminated
        running.stop()
    finally:
        server.stop()


# -- `falco-response consume nats://...` as processes ----------------------------------------

def spawn(url: str, cfg: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = Path(sys.executable).parent / "falco-response"
    return subprocess.Popen([str(command), "consume", url, "--config", str(cfg),
                             "--workers", "4"], env=env, stdout=subprocess.DEVNULL,
                            stderr=log.open("ab"))


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def test_a_consumer_killed_mid_batch_loses_no_alert(
        nats_server: NatsServer, plugin_env: dict[str, str], tmp_path: Path) -> None:
    record = tmp_path / "record.txt"
    cfg = write_yaml(tmp_path / "cfg.yaml", config(record, delay_ms=300))
    alerts = [sidekick_alert(f"k{i}") for i in range(30)]
    publish(nats_server.url, alerts)
    url = source_url(nats_server, ack_wait=2)
    first = spawn(url, cfg, plugin_env, tmp_path / "first.log")
    try:
        wait_for(lambda: len(recorded(record)) >= 4, 60, "the first consumer to start")
        first.kill()  # mid-batch: four messages fetched, some actions done, none acked
        first.wait(10)
    finally:
        stop(first)
    done_before = len(recorded(record))
    assert done_before < 30
    second = spawn(url, cfg, plugin_env, tmp_path / "second.log")
    try:
        wait_for(lambda: set(recorded(record)) == {a["uuid"] for a in alerts}, 120,
                 "every alert to be acted on")
        wait_for(lambda: consumer_state(nats_server.url).num_ack_pending == 0, 30, "acks")
    finally:
        stop(second)
    assert second.returncode == 0


def test_two_consumers_split_a_stream(
        nats_server: NatsServer, plugin_env: dict[str, str], tmp_path: Path) -> None:
    record, pids = tmp_path / "record.txt", tmp_path / "pids.txt"
    cfg = write_yaml(tmp_path / "cfg.yaml", config(record, delay_ms=20, pid_path=str(pids)))
    url = source_url(nats_server)
    procs = [spawn(url, cfg, plugin_env, tmp_path / f"c{i}.log") for i in range(2)]
    try:
        def pulling() -> bool:
            try:
                return consumer_state(nats_server.url).num_waiting >= 2
            except Exception:  # not created yet
                return False
        wait_for(pulling, 60, "both consumers to pull")
        alerts = [sidekick_alert(f"s{i}") for i in range(200)]
        publish(nats_server.url, alerts)
        wait_for(lambda: len(recorded(record)) >= 200, 120, "200 alerts")
        wait_for(lambda: consumer_state(nats_server.url).num_ack_pending == 0, 30, "acks")
    finally:
        for proc in procs:
            stop(proc)
    assert sorted(recorded(record)) == sorted(a["uuid"] for a in alerts)  # each exactly once
    assert {int(p) for p in recorded(pids)} == {p.pid for p in procs}
    assert all(p.returncode == 0 for p in procs)


def test_token_auth_from_the_environment(
        tmp_path: Path, plugin_env: dict[str, str]) -> None:
    token = "nats-test-token-5ab1e"
    server = NatsServer(tmp_path, token=token)
    server.start()
    try:
        make_streams(server.url, token=token)
        publish(server.url, [sidekick_alert("t1")], token=token)
        record = tmp_path / "record.txt"
        cfg = write_yaml(tmp_path / "cfg.yaml", config(record))
        denied = subprocess.run(
            [str(Path(sys.executable).parent / "falco-response"), "consume",
             source_url(server), "--config", str(cfg)], env=plugin_env,
            capture_output=True, text=True, timeout=60)
        assert denied.returncode != 0 and "authorization" in denied.stderr.lower()
        proc = spawn(source_url(server), cfg, {**plugin_env, "FALCO_RESPONSE_NATS_TOKEN": token},
                     tmp_path / "ok.log")
        try:
            wait_for(lambda: recorded(record) == ["t1"], 60, "the alert")
        finally:
            stop(proc)
        assert token not in (tmp_path / "ok.log").read_text()
    finally:
        server.stop()


def test_consume_takes_exactly_one_source(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from falco_response.cli import main

    cfg = write_yaml(tmp_path / "cfg.yaml", config(tmp_path / "r.txt"))
    assert main(["consume", "--config", str(cfg)]) == 2
    assert "either --queue-url" in capsys.readouterr().err
    assert main(["consume", "nats://h:4222?stream=S&consumer=C", "--queue-url",
                 "https://sqs.eu-west-1.amazonaws.com/1/q", "--config", str(cfg)]) == 2
    assert main(["consume", "nats://h:4222?stream=S", "--config", str(cfg)]) == 2
    assert "needs ?consumer=" in capsys.readouterr().err


def test_nkey_seed_file_from_the_environment(tmp_path: Path, consume: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import os

    import nats
    import nkeys

    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    public = nkeys.from_seed(bytearray(seed)).public_key.decode()
    seed_file = tmp_path / "user.nk"
    seed_file.write_bytes(seed)
    server = NatsServer(tmp_path, nkey=public)
    server.start()
    try:
        async def setup() -> None:
            nc = await nats.connect(server.url, nkeys_seed=str(seed_file))
            js = nc.jetstream()
            await js.add_stream(name="FALCO", subjects=["falco.>"])
            body = sidekick_alert("nk1")
            await js.publish("falco.critical.terminal_shell_in_container",
                             json.dumps(body).encode())
            await nc.close()
        asyncio.run(setup())
        monkeypatch.setenv("FALCO_RESPONSE_NATS_NKEY_SEED", str(seed_file))
        record = tmp_path / "record.txt"
        running = consume(source_url(server), record)
        assert running.error is None
        wait_for(lambda: recorded(record) == ["nk1"], 30, "the alert")
        running.stop()
    finally:
        server.stop()


def test_an_existing_consumers_ack_wait_paces_the_in_progress_acks(
        nats_server: NatsServer, consume: Any, tmp_path: Path) -> None:
    import asyncio

    import nats
    from nats.js.api import AckPolicy, ConsumerConfig

    async def precreate() -> None:
        nc = await nats.connect(nats_server.url)
        await nc.jetstream().add_consumer("FALCO", ConsumerConfig(
            durable_name="falco-response", ack_policy=AckPolicy.EXPLICIT, ack_wait=1))
        await nc.close()
    asyncio.run(precreate())
    publish(nats_server.url, [sidekick_alert("slow2")])
    record = tmp_path / "record.txt"
    running = consume(source_url(nats_server), record, delay_ms=3500)  # URL: ack_wait 30
    wait_for(lambda: running.consumer.acked == 1, 60, "the slow alert's ack")
    assert recorded(record) == ["slow2"]
    assert consumer_state(nats_server.url).num_redelivered == 0
