"""Approvals through `falco-response serve` processes: Slack's clicks on
``POST /slack/interactions``, a SIGKILL between request and decision, two replicas sharing
one SQLite store (a click seen by both runs once; a timeout fires once)."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from falco_response.approval import records
from falco_response.state.sqlite import SQLiteStore

from approval_support import APPROVER, OTHER_APPROVER, SECRET, alert_for, click, config, web_pod

BEARER = "intake-token-for-tests-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def request(port: int, method: str, path: str, body: bytes = b"",
            headers: dict[str, str] | None = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        reply = conn.getresponse()
        data = reply.read()
        return reply.status, json.loads(data) if data.startswith(b"{") else data.decode()
    finally:
        conn.close()


class Serve:
    def __init__(self, config_path: Path, tmp: Path, name: str) -> None:
        self.port = free_port()
        self.log = (tmp / f"{name}.log").open("ab")
        env = {**os.environ, "SLACK_SIGNING_SECRET": SECRET, "FALCO_RESPONSE_TOKENS": BEARER,
               "FALCO_RESPONSE_APPROVAL_SWEEP": "0.5s", "FALCO_RESPONSE_LOG_LEVEL": "warning"}
        command = Path(sys.executable).parent / "falco-response"
        self.proc = subprocess.Popen(
            [str(command), "serve", "--config", str(config_path), "--port", str(self.port),
             "--queue", str(tmp / f"{name}-queue.db"), "--workers", "2"],
            env=env, stdout=subprocess.DEVNULL, stderr=self.log)
        self.path = tmp / f"{name}.log"

    def ready(self) -> None:
        def up() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited: {self.path.read_text()[-3000:]}")
            try:
                return request(self.port, "GET", "/readyz")[0] == 200
            except OSError:
                return False
        wait_for(up, "serve to be ready")

    def alert(self, payload: dict[str, Any]) -> int:
        return request(self.port, "POST", "/", json.dumps(payload).encode(),
                       {"Authorization": f"Bearer {BEARER}",
                        "Content-Type": "application/json"})[0]

    def click(self, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        return request(self.port, "POST", "/slack/interactions", body, headers)

    def metrics(self) -> str:
        return str(request(self.port, "GET", "/metrics", headers={
            "Authorization": f"Bearer {BEARER}"})[1])

    def stop(self, sig: str = "term") -> None:
        if self.proc.poll() is None:
            self.proc.kill() if sig == "kill" else self.proc.terminate()
            self.proc.wait(30)
        self.log.close()


@pytest.fixture
def deployment(tmp_path: Path, kubeconfig: str, slack: Any, ca_bundle: str) -> Iterator[Any]:
    store = tmp_path / "state.db"
    path = tmp_path / "falco-response.yaml"
    path.write_text(yaml.safe_dump(config(kubeconfig, slack, ca_bundle, f"sqlite://{store}")))
    started: list[Serve] = []

    def start(name: str) -> Serve:
        server = Serve(path, tmp_path, name)
        started.append(server)
        server.ready()
        return server

    start.store = store  # type: ignore[attr-defined]
    yield start
    for server in started:
        server.stop()


def approval_id_of(post: dict[str, Any]) -> str:
    actions = next(b for b in post["blocks"] if b["type"] == "actions")
    return str(actions["elements"][0]["value"])


def deletes(cluster: Any) -> list[str]:
    return [r.url.path for r in cluster.writes() if getattr(r.method, "value", r.method) ==
            "DELETE"]


def test_sigkill_between_request_and_decision_then_restart(deployment: Any, cluster: Any,
                                                           slack: Any) -> None:
    web_pod(cluster)
    first = deployment("a")
    assert first.alert(alert_for()) == 202
    post = wait_for(lambda: slack.posts[:1], "the approval request")[0]
    approval_id = approval_id_of(post)
    first.stop("kill")
    time.sleep(1.5)  # several sweeper rounds would have passed
    assert deletes(cluster) == []
    again = deployment("a2")
    time.sleep(1.5)
    assert deletes(cluster) == []  # a restart decides nothing
    status, body = again.click(*click(approval_id, response_url=slack.response_url))
    assert status == 200 and body["text"].startswith(f"approved by {APPROVER}")
    wait_for(lambda: deletes(cluster), "the delete")
    wait_for(lambda: slack.responses, "the message update")
    assert deletes(cluster) == ["/api/v1/namespaces/default/pods/web-1"]
    assert 'falco_response_approval_interactions_total{result="decided"} 1.0' in again.metrics()


def test_two_replicas_one_click_runs_once(deployment: Any, cluster: Any, slack: Any) -> None:
    web_pod(cluster)
    a, b = deployment("a"), deployment("b")
    assert a.alert(alert_for()) == 202
    approval_id = approval_id_of(wait_for(lambda: slack.posts[:1], "the request")[0])
    signed = click(approval_id, response_url=slack.response_url)
    answers: list[Any] = []
    threads = [threading.Thread(target=lambda s=s: answers.append(s.click(*signed)))
               for s in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(status for status, _ in answers) == [200, 200]
    texts = sorted(body["text"].split(" by ")[0] for _, body in answers)
    assert texts == ["already decided (approved)", "approved"]
    wait_for(lambda: records.load_result(SQLiteStore(deployment.store), approval_id),
             "the result")
    time.sleep(1.5)
    assert deletes(cluster) == ["/api/v1/namespaces/default/pods/web-1"]


def test_two_replicas_timeout_fires_once(deployment: Any, cluster: Any, slack: Any) -> None:
    web_pod(cluster)
    a, b = deployment("a"), deployment("b")
    assert a.alert(alert_for()) == 202
    approval_id = approval_id_of(wait_for(lambda: slack.posts[:1], "the request")[0])
    store = SQLiteStore(deployment.store)
    request_ = records.load_request(store, approval_id)
    records.save_request(store, msgspec.structs.replace(request_, expires_at=time.time()))
    result = wait_for(lambda: records.load_result(store, approval_id), "the timeout")
    assert result.status == "skipped" and "denied by policy" in result.reason
    time.sleep(2)
    assert len(slack.updates) == 1  # one chat.update, from whichever replica held the lease
    assert deletes(cluster) == []


@pytest.mark.parametrize("how, status, reason", [
    ("forged", 401, "bad_signature"), ("replayed", 401, "stale_timestamp"),
    ("stranger", 403, "not_approver")])
def test_refusals_are_counted_and_change_nothing(deployment: Any, cluster: Any, slack: Any,
                                                 how: str, status: int, reason: str) -> None:
    web_pod(cluster)
    a = deployment("a")
    assert a.alert(alert_for()) == 202
    approval_id = approval_id_of(wait_for(lambda: slack.posts[:1], "the request")[0])
    kwargs: dict[str, Any] = {"forged": {"secret": "guess"},
                              "replayed": {"timestamp": int(time.time()) - 600},
                              "stranger": {"user": "U0NOTALLOWED"}}[how]
    got, body = a.click(*click(approval_id, **kwargs))
    assert got == status and SECRET not in json.dumps(body)
    assert f'falco_response_approval_interactions_total{{result="{reason}"}} 1.0' in a.metrics()
    assert records.load_decision(SQLiteStore(deployment.store), approval_id) is None
    assert OTHER_APPROVER  # the other approver can still decide
    assert deletes(cluster) == []
