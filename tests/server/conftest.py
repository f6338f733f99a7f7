"""Fixtures for the container service: alerts, configs, a real uvicorn on a loopback port (in a
thread or as a ``falco-response serve`` subprocess), and an HTTP client over keep-alive."""

from __future__ import annotations

import http.client
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from falco_response import Engine
from falco_response.logs import configure_logging
from falco_response.server import DurableQueue, Metrics, ServerOptions, TokenChecker
from falco_response.server.app import build_receiver
from falco_response.server.run import Listen

import recorder_plugin
from server_helpers import Running, free_port, start_in_thread, wait_for, config
from tests.recorder_site import recorder_env


@pytest.fixture(autouse=True, scope="session")
def _quiet_logs() -> None:
    configure_logging("error")


# -- a server in a thread ------------------------------------------------------------------

@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Start a receiver in a thread: ``serve(tokens=[...], queue_max=..., **record_params)``."""
    started: list[Running] = []

    def start(*, tokens: tuple[str, ...] = (), queue_max: int = 10_000, workers: int = 2,
              body_limit: int = 1024 * 1024, listen: Listen | None = None,
              options: dict[str, Any] | None = None, synchronous: str = "NORMAL",
              **params: Any) -> Running:
        record = tmp_path / f"record-{len(started)}.txt"
        metrics = Metrics()
        engine = Engine.from_config(config(record, **params),
                                    plugins=[recorder_plugin], entry_points=False)
        queue = DurableQueue(tmp_path / f"queue-{len(started)}.db", max_items=queue_max,
                             synchronous=synchronous)  # type: ignore[arg-type]
        opts = ServerOptions(body_limit=body_limit, drain_timeout=5,
                             tokens=TokenChecker(t.encode() for t in tokens), **(options or {}))
        receiver = build_receiver(engine, metrics, queue, workers=workers, options=opts)
        running = start_in_thread(receiver, listen or Listen(), record)
        started.append(running)
        return running

    yield start
    recorder_plugin.GATE.set()
    for running in started:
        running.stop()


# -- a `falco-response serve` subprocess ----------------------------------------------------

@pytest.fixture
def plugin_env(tmp_path: Path) -> dict[str, str]:
    """An environment where a subprocess finds the recorder plugin through entry points."""
    env = recorder_env(tmp_path)
    env.pop("FALCO_RESPONSE_TOKENS", None)
    return env


class Process:
    """``falco-response serve`` as a child process, with its stderr in a file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, port: int) -> None:
        self.port = port
        self.log = log
        self.stderr = log.open("ab")
        command = Path(sys.executable).parent / "falco-response"
        self.proc = subprocess.Popen([str(command), *args], env=env,
                                     stdout=subprocess.DEVNULL, stderr=self.stderr)

    def wait_ready(self, timeout: float = 30.0) -> None:
        def up() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}: "
                                     f"{self.log.read_text()[-2000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("GET", "/readyz")
                ok = conn.getresponse().status == 200
                conn.close()
                return ok
            except OSError:
                return False
        wait_for(up, timeout, "the server to be ready")

    def finish(self, timeout: float = 30.0) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self.stderr.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.stderr.close()


@pytest.fixture
def spawn(tmp_path: Path, plugin_env: dict[str, str]) -> Iterator[Callable[..., Process]]:
    """``spawn(config_path, *extra_args)`` starts `falco-response serve` on a free port."""
    made: list[Process] = []

    def start(config_path: Path, *extra: str, port: int | None = None,
              env: dict[str, str] | None = None) -> Process:
        port = port or free_port()
        args = ["serve", "--config", str(config_path), "--port", str(port), *extra]
        proc = Process(args, {**plugin_env, **(env or {})}, tmp_path / "server.log", port)
        made.append(proc)
        return proc

    yield start
    for proc in made:
        proc.kill()


