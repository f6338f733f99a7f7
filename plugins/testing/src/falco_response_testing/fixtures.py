"""The kit's pytest fixtures, loaded in every run where the kit is installed (``pytest11``).

``ca`` (a trustme CA), ``ca_bundle`` (its PEM on disk, for ``ca_bundle:`` settings),
``tls_server`` (one HTTPS server on 127.0.0.1 per session), ``receiver`` (that server,
cleared before and after each test) and ``logs`` (:class:`falco_response_testing.Logs`).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
import trustme
from pytest_httpserver import HTTPServer

from .logs import Logs


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_bundle(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = Path(tmp_path_factory.mktemp("ca")) / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="session")
def tls_server(ca: trustme.CA) -> Iterator[HTTPServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def receiver(tls_server: HTTPServer) -> Iterator[HTTPServer]:
    tls_server.clear()
    yield tls_server
    tls_server.clear()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[Logs]:
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as events:
        yield Logs(events, caplog)
