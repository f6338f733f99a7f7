"""Fixtures for the console's browser tests: a kmock cluster, `falco-response serve`
replicas (with the console beside intake) sharing one SQLite store, and a real headless
Chromium driven by Selenium through Debian's chromedriver (no downloads)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from falco_response_testing.kubernetes import cid, cluster, kubeconfig, realistic_pod  # noqa: F401

INTAKE_TOKEN = "intake-token-for-tests-0123456789"
ADMIN_TOKEN = "alice-admin-token-0123456789"
VIEWER_TOKEN = "victor-viewer-token-0123456789"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SHOTS = os.environ.get("FALCO_RESPONSE_SCREENSHOTS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """``check()`` once it is true; a page still loading (its element not there yet, or
    replaced while read, after a click that navigates) is not yet, not a failure."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except (NoSuchElementException, StaleElementReferenceException):
            value = None
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def shell_alert(pod: str, *, namespace: str = "default", uuid: str | None = None,
                **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "time": "2026-12-01T20:00:00.123456789Z", "rule": "Terminal shell in container",
        "priority": "Critical", "source": "syscall", "tags": ["container", "shell"],
        "hostname": "node-a", "output": f"A shell was spawned in {namespace}/{pod}",
        "output_fields": {"k8s.ns.name": namespace, "k8s.pod.name": pod,
                          "container.id": "ee97d9c4186f", "proc.name": "sh"},
    }
    if uuid:
        data["uuid"] = uuid
    data.update(fields)
    return data


@pytest.fixture
def add_pod(cluster: Any) -> Callable[[str], dict[str, Any]]:
    cluster.add_node("node-a")

    def add(name: str) -> dict[str, Any]:
        return cluster.add_pod(realistic_pod("default", name, "node-a", [cid(1, name)]))

    return add


@pytest.fixture
def setup(tmp_path: Path, kubeconfig: str) -> Any:
    """The config (isolate the pod, then log), the shared store and the operators file."""
    store = f"sqlite:///{tmp_path / 'state.db'}"
    with_ = {"cluster": {"kubeconfig": kubeconfig}, "timeout_seconds": 5}
    config = {"version": 1,
              "settings": {"store": store, "action_timeout": "10s", "log_level": "warning"},
              "actions": {"isolate": {"type": "isolate-pod", "with": with_},
                          "tell": {"type": "log"}},
              "responses": [{"name": "contain-shells",
                             "match": {"rule": "Terminal shell in container"},
                             "actions": ["isolate", "tell"]},
                            {"name": "notify", "actions": ["tell"]}]}
    path = tmp_path / "falco-response.yaml"
    path.write_text(json.dumps(config))
    operators = tmp_path / "operators"
    operators.write_text(f"# the test's operators\nalice admin {ADMIN_TOKEN}\n"
                         f"victor viewer {VIEWER_TOKEN}\n")

    class Setup:
        pass

    s = Setup()
    s.config, s.store, s.operators, s.tmp = str(path), store, str(operators), tmp_path
    return s


class Server:
    """`falco-response serve` (or `console`) as a child process."""

    def __init__(self, args: list[str], log: Path, port: int, console_port: int | None,
                 ready_path: str) -> None:
        self.port, self.console_port = port, console_port
        self.log = log
        self._stderr = log.open("ab")
        env = {**os.environ, "FALCO_RESPONSE_TOKENS": INTAKE_TOKEN,
               "FALCO_RESPONSE_LOG_LEVEL": "warning"}
        command = Path(sys.executable).parent / "falco-response"
        self.proc = subprocess.Popen([str(command), *args], env=env,
                                     stdout=subprocess.DEVNULL, stderr=self._stderr)
        wait_for(lambda: self._up(ready_path), 60, f"{args[0]} to be ready")

    def _up(self, path: str) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"exited {self.proc.returncode}: {self.log.read_text()[-3000:]}")
        port = self.port if path == "/readyz" else self.console_port
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            status = conn.getresponse().status
            conn.close()
        except OSError:
            return False
        if path == "/readyz" and self.console_port is not None:
            return status == 200 and self._console_up()
        return status in (200, 303)

    def _console_up(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.console_port, timeout=2)
            conn.request("GET", "/login")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    @property
    def console(self) -> str:
        return f"http://127.0.0.1:{self.console_port}"

    def post(self, alert: dict[str, Any]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("POST", "/", body=json.dumps(alert).encode(),
                     headers={"Content-Type": "application/json",
                              "Authorization": f"Bearer {INTAKE_TOKEN}"})
        reply = conn.getresponse()
        body = reply.read()
        conn.close()
        assert reply.status == 202, (reply.status, body)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._stderr.close()


@pytest.fixture
def serve(setup: Any) -> Iterator[Callable[..., Server]]:
    """``serve(console=True)``: a `serve` replica on the shared store (threads, to spare the
    machine), with the console beside intake when asked."""
    made: list[Server] = []

    def start(*, console: bool = True) -> Server:
        n = len(made)
        port = free_port()
        console_port = free_port() if console else None
        args = ["serve", "--config", setup.config, "--port", str(port),
                "--queue", str(setup.tmp / f"queue-{n}.db"), "--actions-in", "threads",
                "--workers", "2"]
        if console_port is not None:
            args += ["--console-port", str(console_port), "--operators", setup.operators]
        server = Server(args, setup.tmp / f"serve-{n}.log", port, console_port, "/readyz")
        made.append(server)
        return server

    yield start
    for server in made:
        server.stop()


@pytest.fixture
def console_only(setup: Any) -> Iterator[Callable[..., Server]]:
    """``falco-response console --store URL``: the console alone, as for a Lambda store."""
    made: list[Server] = []

    def start(*extra: str) -> Server:
        port = free_port()
        args = ["console", "--store", setup.store, "--port", str(port),
                "--operators", setup.operators, *extra]
        server = Server(args, setup.tmp / "console.log", port, port, "/login")
        made.append(server)
        return server

    yield start
    for server in made:
        server.stop()


@pytest.fixture(scope="session")
def _driver() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,900", "--disable-extensions", "--no-first-run"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(_driver: Any) -> Iterator[Any]:
    _driver.set_window_size(1280, 900)
    yield _driver
    try:
        _driver.delete_all_cookies()
    except Exception:
        pass


def screenshot(driver: Any, name: str) -> None:
    """Saved where ``$FALCO_RESPONSE_SCREENSHOTS`` says (docs/console.md shows them)."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SHOTS) / f"{name}.png"))


def sign_in(driver: Any, base: str, token: str = ADMIN_TOKEN) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/live")
    assert driver.current_url.endswith("/login")
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.ID, "sign-in").click()
    wait_for(lambda: driver.current_url.endswith("/live"), 15, "the Live page")


def store_records(setup: Any) -> list[Any]:
    from falco_response.state import open_store

    store = open_store(setup.store)
    try:
        return list(store.history(0))
    finally:
        store.close()
