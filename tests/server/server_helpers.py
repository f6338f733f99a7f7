"""Helpers shared by the server tests: alerts, configs, waiting, an HTTP client."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from falco_response.server.app import Receiver
from falco_response.server.run import Listen, uvicorn_config

TOKEN = "s3cret-token-for-tests-0123456789"


def alert(uuid: str, rule: str = "Terminal shell in container", **extra: Any) -> bytes:
    data = {
        "time": "2026-11-26T20:00:00.123456789Z", "rule": rule, "priority": "Critical",
        "source": "syscall", "tags": ["container", "shell"], "hostname": "node-1",
        "output": f"A shell was spawned ({uuid})", "uuid": uuid,
        "output_fields": {"k8s.ns.name": "payments", "k8s.pod.name": f"api-{uuid}",
                          "container.id": "ee97d9c4186f", "proc.name": "sh"},
    }
    data.update(extra)
    return json.dumps(data).encode()


def config(record: Path, *, action_type: str = "record", **params: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "settings": {"log_level": "error"},
        "actions": {"rec": {"type": action_type, "with": {"path": str(record), **params}}},
        "responses": [{"name": "record-all", "actions": ["rec"]}],
    }


def recorded(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [line for line in path.read_text().splitlines() if line]


def wait_for(check: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


# -- an HTTP client over one keep-alive connection -----------------------------------------

class Client:
    def __init__(self, port: int, *, context: ssl.SSLContext | None = None,
                 token: str | None = None, host: str = "127.0.0.1") -> None:
        if context is None:
            self.conn: http.client.HTTPConnection = http.client.HTTPConnection(
                host, port, timeout=30)
        else:
            self.conn = http.client.HTTPSConnection(host, port, context=context, timeout=30)
        self.token = token

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
        sent = {} if self.token is None else {"Authorization": f"Bearer {self.token}"}
        if body is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        self.conn.request(method, path, body=body, headers=sent)
        reply = self.conn.getresponse()
        data = reply.read()
        got = {k.lower(): v for k, v in reply.getheaders()}
        if got.get("content-type", "").startswith("application/json"):
            return reply.status, got, json.loads(data)
        return reply.status, got, data.decode()

    def post(self, body: bytes, path: str = "/", **headers: str) -> tuple[int, dict[str, str], Any]:
        return self.request("POST", path, body, headers)

    def get(self, path: str) -> tuple[int, dict[str, str], Any]:
        return self.request("GET", path)

    def close(self) -> None:
        self.conn.close()


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    with free_socket() as sock:
        return int(sock.getsockname()[1])


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data))  # JSON is YAML
    return path


# -- a server in a thread ------------------------------------------------------------------

@dataclass
class Running:
    port: int
    receiver: Receiver
    record: Path
    server: uvicorn.Server
    thread: threading.Thread
    clients: list[Client] = field(default_factory=list)

    def client(self, **kwargs: Any) -> Client:
        made = Client(self.port, **kwargs)
        self.clients.append(made)
        return made

    def stop(self) -> None:
        for made in self.clients:
            made.close()
        self.server.should_exit = True
        self.thread.join(30)


def start_in_thread(receiver: Receiver, listen: Listen, record: Path, *,
                    token_listener: bool = False) -> Running:
    sock = free_socket()
    server = uvicorn.Server(uvicorn_config(receiver, listen, token_listener=token_listener))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 15, "uvicorn to start")
    return Running(sock.getsockname()[1], receiver, record, server, thread)
