"""Two ``falco-response serve`` processes on one redis-server, with the real delete-pod action
against a kmock cluster and the real slack action against a TLS receiver: a storm of 10,000
alerts of one rule and target, sent round-robin to both, deletes the pod once and posts one
Slack message; the suppressed count is exact; a limit of 3 holds across both for 100 pods."""

from __future__ import annotations

import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from falco_response_testing.kubernetes import cid, KmockCluster, realistic_pod
from pytest_httpserver import HTTPServer

from falco_response.state.redis import RedisStore

TOKEN = "storm-test-token-0123456789abcdef"
STORM = 10_000
HOOK = "/services/T000/B000/stormSECRET"


@pytest.fixture
def cluster() -> Iterator[KmockCluster]:
    running = KmockCluster().start()
    running.add_namespace("payments")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def slack(tmp_path: Path) -> Iterator[tuple[HTTPServer, str]]:
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context, threaded=True)
    server.expect_request(HOOK, method="POST").respond_with_data("ok")
    server.start()
    try:
        yield server, str(bundle)
    finally:
        server.clear()
        server.stop()


def storm_alert(n: int, pod: str) -> bytes:
    return json.dumps({
        "uuid": f"storm-{n}", "time": "2026-12-01T20:00:00.000000000Z",
        "rule": "Terminal shell in container", "priority": "Critical", "source": "syscall",
        "hostname": "node-a", "tags": ["container", "shell"],
        "output": "A shell was spawned in a container",
        "output_fields": {"k8s.ns.name": "payments", "k8s.pod.name": pod,
                          "container.id": "ee97d9c4186f", "proc.name": "sh"},
    }).encode()


class Serve:
    def __init__(self, tmp: Path, name: str, config: Path, port: int) -> None:
        self.port = port
        self.log = (tmp / f"{name}.log").open("ab")
        env = {**os.environ, "FALCO_RESPONSE_TOKENS": TOKEN,
               "FALCO_RESPONSE_LOG_LEVEL": "warning"}
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "falco-response"), "serve", "--config",
             str(config), "--port", str(port), "--queue", str(tmp / f"{name}.db"),
             "--queue-max", str(STORM)],
            env=env, stdout=subprocess.DEVNULL, stderr=self.log)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def get(self, path: str) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})
            reply = conn.getresponse()
            return reply.status, reply.read().decode()
        finally:
            conn.close()

    def ready(self) -> bool:
        assert self.proc.poll() is None, f"serve exited {self.proc.returncode}"
        try:
            return self.get("/readyz")[0] == 200
        except OSError:
            return False

    def handled(self) -> int:
        text = self.get("/metrics")[1]
        return int(sum(float(v) for v in re.findall(
            r"^falco_response_alerts_handled_total\{[^}]*\} (\S+)$", text, re.M)))

    def outcomes(self, action: str, status: str) -> int:
        text = self.get("/metrics")[1]
        return int(sum(float(v) for v in re.findall(
            r'^falco_response_action_outcomes_total\{action="%s",status="%s"\} (\S+)$'
            % (action, status), text, re.M)))

    def post(self, body: bytes) -> int:
        self.conn.request("POST", "/", body=body, headers={
            "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
        reply = self.conn.getresponse()
        reply.read()
        return reply.status

    def stop(self) -> None:
        self.conn.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


def until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[Any]:
    started: list[Serve] = []

    def start(config: dict[str, Any]) -> list[Serve]:
        path = tmp_path / "config.yaml"
        path.write_text(json.dumps(config))
        from redis_server import free_port

        for name in ("a", "b"):
            started.append(Serve(tmp_path, name, path, free_port()))
        for serve in started:
            until(serve.ready, 60, "serve to be ready")
        return started

    yield start
    for serve in started:
        serve.stop()


def send_round_robin(servers: list[Serve], bodies: list[bytes]) -> None:
    """Two senders (one per server) so neither server waits for the other's answers."""
    errors: list[str] = []

    def send(server: Serve, mine: list[bytes]) -> None:
        for body in mine:
            status = server.post(body)
            if status != 202:
                errors.append(f"{status}")
                return

    threads = [threading.Thread(target=send, args=(s, bodies[i::2]))
               for i, s in enumerate(servers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    assert not errors, errors


def config(redis_url: str, kubeconfig: str, bundle: str, slack_url: str,
           **settings: Any) -> dict[str, Any]:
    return {
        "version": 1,
        # A long timeout: on a loaded machine a slow reply must not fail an action closed.
        "settings": {"store": redis_url + "&timeout=30", "log_level": "warning", **settings},
        "actions": {
            "kill": {"type": "delete-pod", "cooldown": "10m",
                     "with": {"cluster": {"kubeconfig": kubeconfig}, "timeout_seconds": 5}},
            "tell": {"type": "slack", "cooldown": "10m",
                     "with": {"webhook_url": slack_url, "ca_bundle": bundle}},
        },
        "responses": [{"name": "contain", "actions": ["kill", "tell"]}],
    }


def deletes(cluster: KmockCluster) -> list[str]:
    return [r.url.path for r in cluster.writes()
            if getattr(r.method, "value", r.method) == "DELETE"]


def test_a_storm_split_between_two_servers_deletes_once_and_posts_once(
        redis_url: str, cluster: KmockCluster, slack: tuple[HTTPServer, str],
        two_servers: Any, tmp_path: Path) -> None:
    receiver, bundle = slack
    cluster.add_pod(realistic_pod("payments", "api-7f9-x2", "node-a", [cid(1)]))
    kubeconfig = cluster.kubeconfig(tmp_path / "kubeconfig")
    servers = two_servers(config(redis_url, kubeconfig, bundle, receiver.url_for(HOOK)))
    send_round_robin(servers, [storm_alert(n, "api-7f9-x2") for n in range(STORM)])
    until(lambda: sum(s.handled() for s in servers) >= STORM, 600, "the storm to be handled")

    assert deletes(cluster) == ["/api/v1/namespaces/payments/pods/api-7f9-x2"]
    assert len(receiver.log) == 1
    assert all(s.handled() > STORM // 4 for s in servers)  # both did a share of the work

    kills = [r for r in RedisStore(redis_url).history(0) if r.action == "kill"]
    assert [(r.status, r.target) for r in kills] == [("ok", "pod:payments/api-7f9-x2")]
    skipped = sum(s.outcomes("kill", "skipped") for s in servers)
    assert skipped == STORM - 1
    # One counter per action, shared by both servers: what the winner took when it acted
    # (alerts counted between its claim and its take) plus what is left is every skip.
    store = RedisStore(redis_url)
    raw = store._client
    (counter,) = raw.scan_iter(match=f"{store.prefix}count:cooldown:contain:kill:*")
    taken = re.search(r"(\d+) similar alerts suppressed", kills[0].reason or "")
    assert int(raw.get(counter)) + (int(taken.group(1)) if taken else 0) == STORM - 1
    (tell_counter,) = raw.scan_iter(match=f"{store.prefix}count:cooldown:contain:tell:*")
    left = int(raw.get(tell_counter))
    first = json.dumps(receiver.log[0][0].get_json())
    told = re.search(r"([\d,]+) similar alerts\*", first)
    assert left + (int(told.group(1).replace(",", "")) if told else 0) == STORM - 1

    # The cooldown ends (as its TTL would, 10 minutes later): the next alert is acted on and
    # its message carries how many were suppressed since the first.
    for key in raw.scan_iter(match=f"{store.prefix}claim:cooldown:contain:tell:*"):
        raw.delete(key)
    store.close()
    assert servers[0].post(storm_alert(STORM, "api-7f9-x2")) == 202
    until(lambda: len(receiver.log) == 2, 60, "the second Slack message")
    message = json.dumps(receiver.log[1][0].get_json())
    assert f"{left:,} similar alerts" in message
    assert len(deletes(cluster)) == 1


def test_a_limit_of_three_holds_across_two_servers_for_a_hundred_pods(
        redis_url: str, cluster: KmockCluster, slack: tuple[HTTPServer, str],
        two_servers: Any, tmp_path: Path) -> None:
    receiver, bundle = slack
    for n in range(100):
        cluster.add_pod(realistic_pod("payments", f"api-7f9-p{n}", "node-a", [cid(n)]))
    kubeconfig = cluster.kubeconfig(tmp_path / "kubeconfig")
    cfg = config(redis_url, kubeconfig, bundle, receiver.url_for(HOOK),
                 limits={"destructive": {"max": 3, "per": "1h"}})
    cfg["responses"][0]["actions"] = ["kill"]
    servers = two_servers(cfg)
    send_round_robin(servers, [storm_alert(n, f"api-7f9-p{n}") for n in range(100)])
    until(lambda: sum(s.handled() for s in servers) >= 100, 300, "100 alerts to be handled")
    assert len(deletes(cluster)) == 3
    trail = RedisStore(redis_url).history(0)
    assert [r.status for r in trail].count("ok") == 3
    assert sum("blast_radius" in (r.reason or "") for r in trail) == 97
