"""The Lambda entry point, ``falco_response.aws_lambda.handler``.

One cold start builds the engine once (config, plugins, state store); each invocation splits
the event into messages (``parsing.split_batch``), handles each through ``Engine.handle`` with
its :class:`~falco_response.delivery.Delivery` (the engine claims it, see :mod:`.idempotency`),
and answers in the shape its event source understands:

- SQS: ``{"batchItemFailures": [...]}`` naming each message whose handling failed (unreadable,
  an action failed, a destructive action failed closed on a store failure, or handling
  raised), so only those are redelivered (and, past ``maxReceiveCount``, moved to the DLQ);
- function URL / API Gateway: an HTTP response (200, 422 for unreadable input, 500 when an
  action failed so the sender retries);
- SNS, EventBridge, direct invoke: the results, or an exception when something failed, so
  Lambda's async retries and on-failure destination / DLQ apply.

Environment variables (public interface, see docs/aws-lambda.md): ``FALCO_RESPONSE_CONFIG``,
``FALCO_RESPONSE_DRY_RUN``, ``FALCO_RESPONSE_LOG_LEVEL``, ``FALCO_RESPONSE_DISABLE_PLUGINS``,
``FALCO_RESPONSE_STORE``, ``FALCO_RESPONSE_IDEMPOTENCY_TTL``,
``FALCO_RESPONSE_IDEMPOTENCY_NAMESPACE``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
import structlog

from .. import environment
from ..config import action_types_in, load_config, read_config
from ..engine import Engine
from ..logs import LEVELS, configure_logging
from ..outcome import Result
from ..parsing import split_batch
from ..plugins import build_plugin_manager
from ..schema import parse_duration
from ..state import StateStore
from . import config_source
from .idempotency import DEFAULT_TTL_SECONDS, Idempotency, delivery_of

LOG_LEVEL_ENV = environment.LOG_LEVEL
STORE_ENV = environment.STORE
TTL_ENV = environment.IDEMPOTENCY_TTL
NAMESPACE_ENV = environment.IDEMPOTENCY_NAMESPACE
NO_STORE = "none"

_to_builtins = msgspec.json.Encoder(enc_hook=str)


class HandlingFailed(RuntimeError):
    """Raised for SNS / EventBridge / direct events when a message failed, so Lambda retries."""


class Runtime(msgspec.Struct):
    """What a cold start builds and warm invocations reuse. The engine holds its
    collaborators (the store it opens, this logger, the idempotency claims), given when it
    was built."""

    engine: Engine
    idempotency: Idempotency
    log: Any
    url: str = "memory://"

    @property
    def store(self) -> StateStore | None:
        """The store the engine opened (cooldowns, limits, the audit trail and the claims
        share it; an :class:`~falco_response.state.UnavailableStore` while it cannot be opened, tried again on
        use), or None with ``FALCO_RESPONSE_STORE=none``."""
        if self.engine.idempotency is None:
            return None
        store: StateStore = self.engine.store
        return store

    def handle(self, message: Any, message_id: str | None) -> list[Result]:
        """One message's results; never raises (whatever raised is that message's error, so
        an SQS batch reports only it in ``batchItemFailures``)."""
        try:
            return self.engine.handle(message, delivery=delivery_of(message, message_id))
        except Exception as exc:
            error = f"handling failed: {type(exc).__name__}: {exc}"[:500]
            self.log.error("handling a message raised", message_id=message_id, error=error)
            return [Result(alert=None, error=error, message_id=message_id)]


_runtime: Runtime | None = None


def init(plugins: Iterable[Any] = ()) -> Runtime:
    """Build (or return) this instance's runtime. Failures are not cached: the next
    invocation tries again (an SSM or DynamoDB hiccup must not poison a warm instance).

    A custom handler adds its own actions by calling ``init(plugins=[module])`` at import,
    then delegating to :func:`handler`.
    """
    global _runtime
    if _runtime is not None:
        return _runtime
    started = time.monotonic()
    env_level = (os.environ.get(LOG_LEVEL_ENV) or "").strip().lower() or None
    if env_level is not None and env_level not in LEVELS:
        raise ValueError(f"{LOG_LEVEL_ENV}={env_level!r}: use one of {', '.join(LEVELS)}")
    configure_logging(env_level or "info")
    log = structlog.get_logger("falco_response.aws_lambda")
    namespace = (os.environ.get(NAMESPACE_ENV) or os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
                 or "falco-response")
    try:
        ttl = parse_duration(os.environ.get(TTL_ENV) or DEFAULT_TTL_SECONDS)
    except ValueError as exc:
        raise ValueError(f"{TTL_ENV}: {exc}") from None
    source = config_source.resolve()
    # A zip's plugins that declare action types the config does not use are not imported.
    read = read_config(source)
    types = action_types_in(read[1])
    packaged = config_source.packaged_plugins(types)
    manager = build_plugin_manager([*(packaged or ()), *plugins],
                                   entry_points=packaged is None, action_types=types)
    config = load_config(source, manager.actions, read)
    if env_level is None:
        configure_logging(config.log_level)
        log = structlog.get_logger("falco_response.aws_lambda")
    url = os.environ.get(STORE_ENV) or config.settings.store or "memory://"
    no_store = url.strip().lower() == NO_STORE
    idempotency = Idempotency(namespace, ttl, log=log)
    # The engine's collaborators are given here, once: this logger, the store it opens
    # (cooldowns, blast-radius limits, the audit trail and the idempotency claims share it),
    # and the claims themselves (none without a store: nothing would hold them).
    engine = Engine(config, manager, logger=log, store_url=None if no_store else url,
                    idempotency=None if no_store else idempotency)
    runtime = Runtime(engine, idempotency, log, url)
    _runtime = runtime
    store = runtime.store
    log.info("cold start", config=engine.config.source, store=store.url if store else NO_STORE,
             plugins=engine.plugins.names(), dry_run=engine.dry_run,
             init_ms=round((time.monotonic() - started) * 1000, 1))
    if store is not None and store.url == "memory://":
        log.warning("no shared state store: duplicates are caught only within this instance; "
                    f"set {STORE_ENV}=dynamodb://<table> (see docs/aws-lambda.md)")
    return _runtime


def reset() -> None:
    """Forget the runtime (tests; a new config takes effect on the next invocation)."""
    global _runtime
    if _runtime is not None:
        _runtime.engine.close()
    _runtime = None


def event_kind(event: Any) -> str:
    """``sqs``, ``sns``, ``http``, ``eventbridge`` or ``direct``."""
    if not isinstance(event, dict):
        return "direct"
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        source = records[0].get("eventSource") or records[0].get("EventSource")
        if source == "aws:sqs":
            return "sqs"
        if source == "aws:sns":
            return "sns"
    if "requestContext" in event and ("body" in event or "headers" in event):
        return "http"
    if "detail-type" in event and "detail" in event:
        return "eventbridge"
    return "direct"


def _fallback_id(event: Any, kind: str, context: Any) -> str | None:
    """The id of a message that is the whole event: stable across Lambda's own retries."""
    if kind == "eventbridge" and isinstance(event.get("id"), str):
        return f"eventbridge:{event['id']}"
    if kind == "direct":
        request_id = getattr(context, "aws_request_id", None)
        return f"request:{request_id}" if request_id else None
    return None


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """The Lambda handler. See the module docstring for what each event source gets back."""
    runtime = init()
    if runtime.engine.config.has_approvals:
        from .approvals import route

        answer = route(runtime, event)
        if answer is not None:
            return answer
    kind = event_kind(event)
    fallback = _fallback_id(event, kind, context)
    results: list[Result] = []
    for message_id, message in split_batch(event):
        results.extend(runtime.handle(message, message_id or fallback))
    failed = [r for r in results if not r.ok]
    runtime.log.info("invocation handled", event_source=kind, messages=len(results),
                     failed=len(failed), duplicates=sum(1 for r in results if r.dropped))
    return respond(kind, results)


def _summaries(results: Sequence[Result]) -> list[Any]:
    items = []
    for result in results:
        data = result.to_dict()
        if result.message_id:
            data["message_id"] = result.message_id
        items.append(data)
    return list(msgspec.json.decode(_to_builtins.encode(items)))


def respond(kind: str, results: Sequence[Result]) -> dict[str, Any]:
    failed = [r for r in results if not r.ok]
    if kind == "sqs":
        ids = dict.fromkeys(r.message_id for r in failed if r.message_id)
        return {"batchItemFailures": [{"itemIdentifier": i} for i in ids]}
    if kind == "http":
        status = 200
        if any(r.error is not None for r in results):
            status = 422
        elif failed:
            status = 500
        body = _to_builtins.encode({"results": _summaries(results)}).decode()
        return {"statusCode": status, "headers": {"content-type": "application/json"},
                "body": body}
    if failed:
        reasons = "; ".join((r.error or _first_failure(r))[:200] for r in failed[:5])
        raise HandlingFailed(f"{len(failed)} of {len(results)} message(s) failed: {reasons}")
    return {"results": _summaries(results)}


def _first_failure(result: Result) -> str:
    for outcome in result.outcomes:
        if outcome.reason and outcome.status.value == "failed":
            return f"{outcome.response}/{outcome.action}: {outcome.reason}"
    return "an action failed"
