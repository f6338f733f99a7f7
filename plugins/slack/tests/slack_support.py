"""Shared test support: a TLS receiver on 127.0.0.1 (pytest-httpserver + a trustme CA),
sample alerts, an engine built from a dict config with the installed plugin, log capture."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
import trustme
from falco_response import ActionContext, Engine, Outcome, hookimpl
from pytest_httpserver import HTTPServer

WEBHOOK_SECRET_PART = "T00000000/B00000000/XXXXwebhookSECRETxxxxxxxx"
TOKEN = "xoxb-111-222-TOKENsecretTOKENsecret"

ALERT: dict[str, Any] = {
    "hostname": "ip-10-0-1-5",
    "output": "13:44:05.478445995: Critical A shell was spawned in a container with an attached "
              "terminal (user=root k8s.ns=payments k8s.pod=api-7f9 container=ee97d9c4186f "
              "shell=sh parent=runc cmdline=sh -c clear)",
    "priority": "Critical",
    "rule": "Terminal shell in container",
    "source": "syscall",
    "tags": ["container", "mitre_execution", "shell"],
    "time": "2023-05-25T13:44:05.478445995Z",
    "uuid": "5f5a7c1e-2d7b-4a4e-9a3c-0c1d2e3f4a5b",
    "output_fields": {
        "container.id": "ee97d9c4186f",
        "container.image.repository": "docker.io/library/alpine",
        "container.image.tag": "3.19",
        "evt.time": 1685022245478445995,
        "k8s.ns.name": "payments",
        "k8s.pod.name": "api-7f9",
        "proc.cmdline": "sh -c clear",
        "proc.name": "sh",
        "proc.pname": "runc",
        "user.name": "root",
        "fd.name": "/etc/shadow",
    },
}


def alert(**fields: Any) -> dict[str, Any]:
    """The sample alert with some output fields (or top-level keys prefixed ``top_``) changed."""
    data = copy.deepcopy(ALERT)
    for key, value in fields.items():
        if key.startswith("top_"):
            data[key[4:]] = value
        else:
            data["output_fields"][key.replace("__", ".")] = value
    return data


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
    import ssl

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
def webhook_url(receiver: HTTPServer) -> str:
    return receiver.url_for(f"/services/{WEBHOOK_SECRET_PART}")


class Containment:
    """Stand-in containment actions, so the slack action has earlier outcomes to report."""

    @hookimpl
    def register_actions(self, register: Any) -> None:
        def delete(_params: Any) -> Any:
            def run(ctx: ActionContext) -> Outcome:
                return ctx.ok(target=f"pod:{ctx.alert.pod_namespace}/{ctx.alert.pod_name}",
                              reason="deleted")
            return run

        def taint(_params: Any) -> Any:
            def run(ctx: ActionContext) -> Outcome:
                return ctx.would(f"would taint node {ctx.alert.node_name}",
                                 target=f"node:{ctx.alert.node_name}")
            return run

        register("test-delete", delete, destructive=True)
        register("test-taint", taint, destructive=True)


def make_engine(with_: dict[str, Any], *, before: list[dict[str, Any]] | None = None,
                dry_run: bool = False, settings: dict[str, Any] | None = None) -> Engine:
    """An engine whose one response runs ``before`` actions then the installed ``slack`` type."""
    config = {
        "version": 1,
        "settings": settings or {},
        "actions": {"tell-secops": {"type": "slack", "with": with_}},
        "responses": [{"name": "contain-shells", "match": {"rule": "Terminal shell in container"},
                       "actions": [*(before or []), "tell-secops"]}],
    }
    return Engine.from_config(config, plugins=[Containment()], dry_run=dry_run)


class Logs:
    """structlog events and every stdlib record (DEBUG and up: slack-sdk, urllib3, httpx...)
    on the sending side."""

    def __init__(self, events: list[Any], caplog: pytest.LogCaptureFixture) -> None:
        self.events = events
        self.caplog = caplog

    def text(self) -> str:
        stdlib = [f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in self.caplog.records
                  if not r.name.startswith("werkzeug")]  # the test receiver's own access log
        return "\n".join([repr(e) for e in self.events] + stdlib)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[Logs]:
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as events:
        yield Logs(events, caplog)
