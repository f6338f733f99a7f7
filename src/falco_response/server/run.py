"""Building and running the receiver under uvicorn: TLS, the auth guard, the side port.

Kept apart from the CLI so a custom deployment can call :func:`prepare` and
:func:`run` with its own engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import ssl
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from ..engine import Engine
from .app import Receiver, ServerOptions, build_receiver
from .health import HealthServer
from .http_limits import HttpLimits, protocol_class
from .metrics import Metrics
from .queue import DurableQueue
from .runner import Runner


class UnsafeConfig(Exception):
    """The server would run destructive actions for anyone who can reach it."""


@dataclass
class Listen:
    host: str = "127.0.0.1"
    port: int = 8080
    tls_cert: str | None = None
    tls_key: str | None = None
    client_ca: str | None = None
    token_port: int | None = None
    health_host: str = "0.0.0.0"
    health_port: int | None = None
    keep_alive: int = 75
    limits: HttpLimits = field(default_factory=HttpLimits)
    uvicorn_extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("--tls-cert and --tls-key go together")
        if self.client_ca and not self.tls_cert:
            raise ValueError("--client-ca (mutual TLS) needs --tls-cert and --tls-key")
        if self.token_port is not None and not self.client_ca:
            raise ValueError("--token-port is a second listener beside a mutual-TLS one: "
                             "without --client-ca, use --port with tokens")


def check_auth(destructive: Sequence[str], listen: Listen, options: ServerOptions, *,
               insecure_no_auth: bool, log: Any) -> None:
    """Refuse to serve ``destructive`` actions (``response/action``: the outline's or the
    engine config's ``destructive_actions``) without authentication, unless told loudly."""
    authenticated = bool(listen.client_ca) or options.tokens.enabled
    destructive = list(destructive)
    if listen.token_port is not None and not options.tokens.enabled:
        raise UnsafeConfig("--token-port needs bearer tokens (--token-env/--token-file)")
    if authenticated:
        return
    if destructive and not insecure_no_auth:
        raise UnsafeConfig(
            "destructive actions are configured (" + ", ".join(destructive) + ") and no "
            "authentication is set up: pass --client-ca (mutual TLS) or set bearer tokens "
            "(--token-env/--token-file); --insecure-no-auth overrides this check")
    if insecure_no_auth:
        for _ in range(3):
            log.critical("INSECURE: serving without authentication; anyone who can reach "
                         "this port can trigger every configured action",
                         destructive=destructive)
    else:
        log.warning("serving without authentication (no destructive action is configured)")


def prepare(engine: Engine, metrics: Metrics, queue: DurableQueue, *, workers: int,
            options: ServerOptions, pool: Runner | None = None) -> Receiver:
    return build_receiver(engine, metrics, queue, workers=workers, options=options, pool=pool)



def uvicorn_config(receiver: Receiver, listen: Listen, *, token_listener: bool = False
                   ) -> uvicorn.Config:
    """The uvicorn config of the main listener, or of the token listener: same server
    certificate, no client certificate, bearer tokens required, no lifespan of its own."""
    listen.validate()
    kwargs: dict[str, Any] = dict(
        host=listen.host, port=listen.token_port if token_listener else listen.port,
        lifespan="off" if token_listener else "on", access_log=False, log_level="warning",
        timeout_keep_alive=listen.keep_alive, timeout_graceful_shutdown=10,
        server_header=False, proxy_headers=False,  # Falco connects directly; no proxy
    )
    kwargs["http"] = protocol_class(listen.limits, receiver.refused_by_protocol)
    if listen.tls_cert:
        kwargs.update(ssl_certfile=listen.tls_cert, ssl_keyfile=listen.tls_key)
    if listen.client_ca and not token_listener:
        kwargs.update(ssl_ca_certs=listen.client_ca, ssl_cert_reqs=ssl.CERT_REQUIRED)
    kwargs.update(listen.uvicorn_extra)
    if token_listener:
        app = receiver.app(check_tokens=True, lifespan=False)
    else:
        app = receiver.app(check_tokens=None if not listen.client_ca else False)
    return uvicorn.Config(app, **kwargs)


class _Server(uvicorn.Server):
    """A uvicorn server whose signals are handled by :func:`run`, for all listeners."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve_all(servers: list[uvicorn.Server]) -> None:
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    tasks = [asyncio.ensure_future(s.serve()) for s in servers]
    await tasks[0]
    stop()  # the main listener stopped (a signal, or startup failed): stop the others
    await asyncio.gather(*tasks[1:])


def readiness(servers: Sequence[uvicorn.Server], receiver_ready: Callable[[], str]
              ) -> Callable[[], str]:
    """The health port's readiness: it answers from its own thread, before uvicorn has bound
    the listeners, so "starting" until every one (intake, tokens, console) is serving."""

    def ready() -> str:
        if not all(server.started for server in servers):
            return "starting"
        return receiver_ready()

    return ready


def run(receiver: Receiver, listen: Listen, *, extra: Sequence[uvicorn.Config] = ()) -> None:
    """Serve until SIGTERM/SIGINT; on either, stop intake and drain the workers. ``extra``
    listeners (the operator console) run beside intake and stop with it."""
    configs = [uvicorn_config(receiver, listen)]
    if listen.token_port is not None:
        configs.append(uvicorn_config(receiver, listen, token_listener=True))
    configs.extend(extra)
    for config in configs:
        config.load()
    # Worker threads run actions (Python code holding the GIL); a shorter switch interval
    # lets the event loop answer intake sooner (the default 5 ms would show in p99).
    sys.setswitchinterval(0.0005)
    servers: list[uvicorn.Server] = [_Server(c) for c in configs]
    ready = readiness(servers, receiver.readiness)
    health = None
    if listen.health_port is not None:
        health = HealthServer(listen.health_host, listen.health_port,
                              registry=receiver.metrics.registry,
                              live=lambda: receiver.workers.alive or receiver.draining,
                              ready=ready)
        health.start()
    try:
        with asyncio.Runner(loop_factory=configs[0].get_loop_factory()) as runner:
            runner.run(_serve_all(servers))
    finally:
        if health is not None:
            health.stop()
