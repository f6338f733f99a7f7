"""The HTTP receiver: Starlette routes in front of the durable queue.

``POST /``     one alert as Falco's ``http_output`` or falcosidekick's webhook sends it (also
               ``PUT``, and on every ``--intake-path``; see :mod:`.senders`).
``POST /sns``  an Amazon SNS HTTP(S) subscription (only when topics are allowed).
``GET /healthz``, ``GET /readyz``, ``GET /metrics``.

A request is read once (:func:`falco_response.reading.read_payload`) and answered 2xx only
after its alerts are committed to the queue, normalized (:mod:`.queued`); a runner
(:mod:`.runner`) has the engine handle them later. Every refusal says why in
``{"error": ...}`` and is counted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import msgspec
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..alert import Alert
from ..engine import Engine, default_logger
from ..errors import ParseError
from ..outline import Outline
from ..parsing import decode, nesting_error
from ..reading import ParseFailure, Parsers, read_payload
from . import queued
from .auth import TokenChecker, TokenError
from .intake import AlertEndpoint, read_limited
from .metrics import Metrics
from .dead_letters import RetryPolicy
from .queue import DurableQueue, QueueClosed, QueueDiskFull, QueueFull, QueueWriteError
from .refusal import Refused, single_authorization
from .senders import (INTAKE_METHODS, SIDEKICK_TALON, TEXT_OUTPUT, is_falcosidekick,
                      not_found_handler, with_trailing_slashes)
from .sns import SnsError, SnsVerifier
from .runner import Reporter, Runner
from .workers import Workers

DEFAULT_BODY_LIMIT = 1024 * 1024
_encode = msgspec.json.Encoder().encode
_JSON_TYPES = ("application/json",)
_SNS_TYPES = ("application/json", "text/plain")


@dataclass
class ServerOptions:
    body_limit: int = DEFAULT_BODY_LIMIT
    retry_after: int = 5
    drain_timeout: float = 25.0
    tokens: TokenChecker = field(default_factory=lambda: TokenChecker(()))
    sns: SnsVerifier | None = None
    intake_paths: tuple[str, ...] = ("/",)
    """Where alerts are taken (``/`` and each ``--intake-path``), checked by
    :func:`.senders.intake_paths`."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class Receiver:
    """The state behind the routes: the parsers, queue, runner, metrics and options.

    Intake needs only the plugins' parsers (``parsers``) and a log; ``close`` (the engine's,
    when it runs in this process) is called once the runner drained. ``approvals`` is the
    engine that carries out what is decided here rather than in a runner (Slack approval
    clicks, the approval sweeper): given only when the config has approvals."""

    def __init__(self, parsers: Parsers, queue: DurableQueue, workers: Runner,
                 metrics: Metrics, options: ServerOptions, *, log: Any,
                 close: Callable[[], None] | None = None,
                 approvals: Engine | None = None) -> None:
        self.parsers = parsers
        self.approvals = approvals
        self.queue = queue
        self.workers = workers
        self.metrics = metrics
        self.options = options
        self.draining = False
        self.log = log
        self.close = close
        metrics.queue_depth.set_function(lambda: len(queue))
        metrics.dead_letters.set_function(lambda: queue.dead_letters)
        metrics.disk_full.set_function(lambda: 1 if queue.disk_full else 0)

    # -- helpers --------------------------------------------------------------------------

    def refuse(self, exc: Refused) -> Response:
        self.metrics.rejected.labels(exc.reason).inc()
        self.log.info("request refused", status=exc.status, reason=exc.reason,
                      error=exc.message)
        return Response(_encode({"error": exc.message}), exc.status, exc.headers,
                        media_type="application/json")

    def refused_by_protocol(self, reason: str) -> None:
        """A request or connection the HTTP protocol refused (header limits, too many
        connections) before it reached the app: counted like the app's refusals."""
        self.metrics.rejected.labels(reason).inc()
        self.log.info("request refused", reason=reason)

    @staticmethod
    def check_media_type(content_type: str, allowed: tuple[str, ...]) -> None:
        media = content_type.split(";", 1)[0].strip().lower()
        if media not in allowed and not media.endswith("+json"):
            if media == "text/plain":  # Falco's http_output with json_output: false
                raise Refused(415, "content_type", TEXT_OUTPUT)
            raise Refused(415, "content_type", f"content type must be {' or '.join(allowed)}")

    def check_type(self, request: Request, allowed: tuple[str, ...]) -> None:
        self.check_media_type(request.headers.get("content-type", ""), allowed)

    @property
    def body_limit(self) -> int:
        return self.options.body_limit

    def too_large(self) -> Refused:
        return Refused(413, "too_large", f"body is over the {self.options.body_limit}-byte "
                       "limit", {"Connection": "close"})

    async def read_body(self, request: Request) -> bytes:
        """The body, refused with 413 as soon as it passes the limit (not after reading it)."""
        return await read_limited(request.receive, request.headers.get("content-length"),
                                  self.options.body_limit, self.too_large)

    def parse(self, payload: bytes | dict[str, Any]) -> list[tuple[str | None, Alert]]:
        """Every alert in the payload (with its message id), read by the one reader the
        engine uses; refused with 400 when the payload holds no alert (an empty batch) or any
        message fails, whatever a parser raises: intake answers 202 only for a payload that
        holds at least one alert, and all of them."""
        try:
            parsed = read_payload(self.parsers, payload)
        except Exception as exc:  # read_payload returns failures as values; belt and braces
            raise Refused(400, "not_alert", f"a parser failed on the message: "
                          f"{type(exc).__name__}") from None
        alerts = []
        for message_id, alert in parsed:
            if isinstance(alert, ParseFailure):
                raise _refusal(alert)
            alerts.append((message_id, alert))
        if not alerts:
            raise Refused(400, "not_alert", "the payload holds no alert (an empty batch)")
        return alerts

    async def enqueue(self, alerts: list[tuple[str | None, Alert]]) -> int:
        """Commit ``alerts`` to the queue (one row); its id once it is on disk."""
        try:
            future = self.queue.submit_async(queued.encode(alerts))
        except QueueFull:
            raise Refused(503, "queue_full", "the queue is full; retry later",
                          {"Retry-After": str(self.options.retry_after)}) from None
        except QueueClosed:
            raise Refused(503, "shutting_down", "shutting down; retry later",
                          {"Retry-After": "1"}) from None
        except QueueDiskFull:
            raise Refused(503, "disk_full", "queue disk full; retry later",
                          {"Retry-After": str(self.options.retry_after)}) from None
        try:
            item_id = await future
        except QueueDiskFull:
            raise Refused(503, "disk_full", "queue disk full; retry later",
                          {"Retry-After": str(self.options.retry_after)}) from None
        except QueueWriteError:
            raise Refused(503, "queue_error", "the queue could not store the alert; retry "
                          "later", {"Retry-After": str(self.options.retry_after)}) from None
        for _, alert in alerts:
            self.metrics.count_received(alert.source)
        return item_id

    # -- routes ---------------------------------------------------------------------------

    def check_token(self, header: str | None, user_agent: str | None = None) -> None:
        try:
            self.options.tokens.check(header)
        except TokenError as exc:
            reason = "unauthenticated" if exc.status == 401 else "forbidden"
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
            message = exc.reason
            if not header and is_falcosidekick(user_agent):
                message = SIDEKICK_TALON
            raise Refused(exc.status, reason, message, headers) from None

    def authenticate(self, request: Request, check_tokens: bool) -> None:
        header = single_authorization(request.headers.getlist("authorization"))
        if check_tokens:
            self.check_token(header)

    async def post_sns(self, request: Request) -> Response:
        try:
            single_authorization(request.headers.getlist("authorization"))
        except Refused as exc:
            return self.refuse(exc)
        verifier = self.options.sns
        if verifier is None:
            return Response(_encode({"error": "no SNS topic is allowed"}), 404,
                            media_type="application/json")
        try:
            self.check_type(request, _SNS_TYPES)
            body = await self.read_body(request)
            try:
                message = decode(body)
            except ParseError as exc:
                raise Refused(400, "bad_json", str(exc)) from None
            except RecursionError:
                raise Refused(400, "bad_json", str(nesting_error())) from None
            if not isinstance(message, dict):
                raise Refused(400, "not_alert", "an SNS message must be a JSON object")
            try:
                await anyio.to_thread.run_sync(verifier.verify, message)
            except SnsError as exc:
                reason = "unknown_topic" if str(exc) == "topic not allowed" else "bad_signature"
                raise Refused(403, reason, str(exc)) from None
            kind = message.get("Type")
            if kind == "SubscriptionConfirmation":
                try:
                    await anyio.to_thread.run_sync(verifier.confirm, message)
                except SnsError as exc:
                    raise Refused(502, "bad_signature", str(exc)) from None
                self.log.warning("SNS subscription confirmed", topic=message.get("TopicArn"))
                return Response(_encode({"confirmed": message.get("TopicArn")}), 200,
                                media_type="application/json")
            if kind != "Notification":
                self.log.warning("SNS message ignored", type=kind,
                                 topic=message.get("TopicArn"))
                return Response(_encode({"ignored": kind}), 200, media_type="application/json")
            item_id = await self.enqueue(self.parse(message))  # decoded once, above
            return Response(_encode({"queued": item_id}), 202, media_type="application/json")
        except Refused as exc:
            return self.refuse(exc)

    async def healthz(self, request: Request) -> Response:
        if not self.workers.alive and not self.draining:
            return Response(b'{"status":"workers stopped"}', 503, media_type="application/json")
        return Response(b'{"status":"ok"}', media_type="application/json")

    async def readyz(self, request: Request) -> Response:
        status = self.readiness()
        return Response(_encode({"status": status}), 200 if status == "ready" else 503,
                        media_type="application/json")

    def readiness(self) -> str:
        if self.draining:
            return "draining"
        if not self.workers.alive:
            return "workers stopped"
        if self.queue.full:
            return "queue full"
        return "ready"

    async def metrics_endpoint(self, request: Request, check_tokens: bool = True) -> Response:
        try:
            self.authenticate(request, check_tokens)
        except Refused as exc:
            return self.refuse(exc)
        return Response(generate_latest(self.metrics.registry),
                        headers={"Content-Type": CONTENT_TYPE_LATEST})

    # -- lifecycle ------------------------------------------------------------------------

    def approval_routes(self) -> list[Route]:
        """``POST /slack/interactions`` when the config asks for approvals (made once)."""
        if self.approvals is None:
            return []
        if getattr(self, "_approval_route", None) is None:
            from .slack_interactions import route

            self._approval_route = route(self)
        return [self._approval_route]

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        if self.queue.synchronous != "FULL":  # FULL's fsync must not block the loop
            self.queue.attach(asyncio.get_running_loop())
        self.workers.start()
        sweeper = None
        if self.approvals is not None:
            from ..approval.sweeper import Sweeper, interval

            sweeper = Sweeper(self.approvals, interval())
            sweeper.start()
        if self.queue.recovered:
            self.log.warning("resuming alerts accepted before the last stop",
                             count=self.queue.recovered)
        try:
            yield
        finally:
            if sweeper is not None:
                sweeper.stop()
            self.draining = True
            drained = await anyio.to_thread.run_sync(self.workers.drain,
                                                     self.options.drain_timeout)
            if self.close is not None:
                self.close()
            self.log.warning("stopped", drained=drained)

    def app(self, *, check_tokens: bool | None = None, lifespan: bool = True) -> _Front:
        """The ASGI app of one listener. ``check_tokens`` (default: when tokens are set)
        asks for a bearer token on ``POST /`` and ``/metrics``; a listener that requires
        client certificates passes False. Only one listener owns the lifespan (workers)."""
        tokens = self.options.tokens.enabled if check_tokens is None else check_tokens

        async def metrics(request: Request) -> Response:
            return await self.metrics_endpoint(request, tokens)

        alerts = AlertEndpoint(self, check_tokens=tokens)
        paths = self.options.intake_paths
        rest = Starlette(routes=[
            *(Route(path, alerts, methods=list(INTAKE_METHODS)) for path in paths),
            Route("/sns", self.post_sns, methods=["POST"]),
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/readyz", self.readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            *self.approval_routes(),
        ], lifespan=self.lifespan if lifespan else None,
            exception_handlers={404: not_found_handler(paths, self.log)})
        return _Front(alerts, rest, with_trailing_slashes(paths))


class _Front:
    """``POST /`` (and PUT, and every intake path), the path every alert takes, goes straight
    to its endpoint (which answers every failure itself); the rest goes through Starlette's
    router and middleware."""

    def __init__(self, alerts: AlertEndpoint, rest: Starlette,
                 paths: frozenset[str] = frozenset({"/"})) -> None:
        self.alerts = alerts
        self.rest = rest
        self.router = rest.router
        self.paths = paths

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] in self.paths and \
                scope["method"] in INTAKE_METHODS:
            await self.alerts(scope, receive, send)
        else:
            await self.rest(scope, receive, send)

def _refusal(failure: ParseFailure) -> Refused:
    if failure.kind == "parser_raised":  # its type only: the text may echo the alert
        return Refused(400, "not_alert", f"a parser failed on the message: {failure.exception}")
    return Refused(400, "bad_json" if failure.kind == "bad_json" else "not_alert", failure.error)


def build_receiver(engine: Engine, metrics: Metrics, queue: DurableQueue, *, workers: int = 4,
                   options: ServerOptions | None = None, pool: Runner | None = None) -> Receiver:
    """Wire a receiver around ``engine``'s parsers. Actions run in ``workers`` threads of
    this process, unless ``pool`` (an :class:`~.action_process.ActionProcess`) runs them
    elsewhere. Outcomes are counted in ``metrics`` by the runner's reporter: do not also
    register ``metrics`` as a plugin of ``engine`` (it would count each alert twice)."""
    options = options or ServerOptions()
    if pool is None:
        reporter = Reporter(queue, log=engine.log, metrics=metrics, retry=options.retry)
        pool = Workers(queue, engine, reporter, count=workers)
    return Receiver(engine.plugins, queue, pool, metrics, options, log=engine.log,
                    close=engine.close,
                    approvals=engine if engine.config.has_approvals else None)


def intake_receiver(outline: Outline, metrics: Metrics, queue: DurableQueue, pool: Runner, *,
                    options: ServerOptions, approvals: Engine | None = None,
                    log: Any = None) -> Receiver:
    """A receiver that holds no engine: ``outline``'s parsers (:mod:`falco_response.outline`,
    no action built) in front of ``pool``, which runs the actions elsewhere (an
    :class:`~.action_process.ActionProcess`). Approvals are decided where Slack's click
    lands, so a config with approvals also needs ``approvals``, an engine of this process
    that carries the decisions out (and is closed once the runner drained)."""
    if outline.has_approvals and approvals is None:
        raise ValueError("the config has approvals: intake needs the engine that carries "
                         "them out (approvals=)")
    return Receiver(outline.parsers, queue, pool, metrics, options,
                    log=log if log is not None else default_logger(),
                    close=approvals.close if approvals is not None else None,
                    approvals=approvals if outline.has_approvals else None)
