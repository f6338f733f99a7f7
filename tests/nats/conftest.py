"""Fixtures: a real nats-server with JetStream per test, streams FALCO (falco.>) and
FALCO_DEAD (falco-response.dead), and an environment where a ``consume`` subprocess finds
the recorder test plugin."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
SERVER_TESTS = HERE.parent / "server"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(SERVER_TESTS))  # recorder_plugin, server_helpers

from nats_server import NatsServer, make_streams  # noqa: E402

from tests.recorder_site import recorder_env  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _quiet_logs() -> None:
    from falco_response.logs import configure_logging

    configure_logging("error")


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path)
    server.start()
    make_streams(server.url)
    yield server
    server.stop()


@pytest.fixture
def plugin_env(tmp_path: Path) -> dict[str, str]:
    return recorder_env(tmp_path)
