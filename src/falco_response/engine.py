"""The engine: where an alert enters (``handle``), is matched, and its actions run.

Library use::

    from falco_response import Engine
    engine = Engine.from_config("falco-response.yaml")
    for result in engine.handle(payload):   # bytes, str or dict; a Lambda batch gives many
        print(result.to_dict())
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import msgspec
import structlog

from .actions import ActionContext
from . import environment
from .alert import Alert
from .audit import records_for
from .delivery import Claim, Delivery
from .config import (BoundAction, Config, ConfigSource, Response, action_types_in,
                     load_config, read_config)
from .errors import ConfigError, ConfigProblem, FalcoResponseError
from .outcome import Outcome, Result, Status
from .plugins import Plugins, build_plugin_manager
from .reading import Parsed, read_payload
from .safety import Safeguards
from .senders import INTERNAL_SKIP, TRUNCATED_NOTE, SenderChecks

if TYPE_CHECKING:
    from .delivery import Claims
    from .state import StateStore

DRY_RUN_ENV = environment.DRY_RUN
_MAX_REASON = 500
_ACTION_THREADS = 16
_HANG_GRACE = 1.0
_FAILED = Status.FAILED  # enum attribute lookups are slow on the hot path
_REOPEN_EVERY = 5.0


def _quietly(log: Any, event: str, **fields: Any) -> None:
    """Log from the last line of defence, where even a broken log stream must not raise."""
    try:
        log(event, **fields)
    except Exception:  # noqa: S110
        pass


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}


def forced_dry_run() -> bool:
    """``$FALCO_RESPONSE_DRY_RUN`` as a boolean. Any other spelling (``ture``, ``y``) is a
    start-up error, never live: a typo must not turn a dry run into real actions."""
    value = os.environ.get(DRY_RUN_ENV, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError([ConfigProblem(DRY_RUN_ENV, "", (
        f"{value!r} is neither true nor false: use 1, true, yes or on for a dry run; 0, false, "
        "no or off (or unset it) to act"))])


class _StderrLogger:
    """structlog's PrintLogger, but to whatever ``sys.stderr`` is when a line is written (a
    test harness or the caller may swap it after the engine was built)."""

    _lock = threading.Lock()

    def msg(self, message: str) -> None:
        with self._lock:
            print(message, file=sys.stderr, flush=True)

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


class _DefaultLogger:
    """structlog's logger once the program has configured structlog (checked at each use
    until then, so configuring after building the engine still counts); before that, one
    that writes structlog's default console lines to stderr, never to the caller's stdout."""

    def __init__(self) -> None:
        self._fallback = structlog.wrap_logger(_StderrLogger())
        self._configured: Any = None

    def __getattr__(self, name: str) -> Any:
        target = self._configured
        if target is None:
            if not structlog.is_configured():
                return getattr(self._fallback, name)
            target = self._configured = structlog.get_logger("falco_response")
        return getattr(target, name)


def default_logger() -> Any:
    """The engine's logger when the caller gives none: see :class:`_DefaultLogger`."""
    return _DefaultLogger()


_NO_CLAIM = Claim()


def _delivery_of(message_id: str | None, delivery: Delivery | None) -> Delivery | None:
    """The delivery of one message of a payload: a batch record's own id, else the payload's."""
    if message_id is None or (delivery is not None and delivery.message_id == message_id):
        return delivery
    return Delivery(message_id, delivery.sns_message_id if delivery else None)


class Engine:
    """Parses, filters, matches and runs actions. Thread-safe for ``handle`` once built.

    Dry run is sticky: if the engine (``dry_run=True``, ``--dry-run``,
    ``FALCO_RESPONSE_DRY_RUN=1``), ``settings.dry_run``, the response or the action says
    dry run, the action runs as a dry run; no level can turn it back on.
    """

    def __init__(self, config: Config, plugins: Plugins, *, dry_run: bool = False,
                 logger: Any = None, store: StateStore | None = None,
                 store_url: str | None = None, idempotency: Claims | None = None,
                 audit_dry_runs: bool = True) -> None:
        """The engine's collaborators are given here, once, never patched in afterwards:

        - ``logger``, a structlog logger (else :func:`default_logger`);
        - ``store``, a state store the caller opened and shares (``replay``'s read-only one,
          the console's, a test's); without it the engine opens ``store_url`` (else
          ``settings.store``, else this process's memory) on first use, and opens it again
          after a failure;
        - ``idempotency``, what claims each alert handled with a :class:`~.delivery.Delivery`
          before its actions run (the Lambda handler's
          :class:`~.aws_lambda.idempotency.Idempotency`);
        - ``audit_dry_runs``: record dry-run outcomes in the audit trail (marked
          ``dry_run``); the CLI's what-if runs (``replay``/``handle --dry-run``) pass False:
          they write nothing.
        """
        self.config = config
        self.plugins = plugins
        self.dry_run = dry_run or forced_dry_run() or config.settings.dry_run
        self.log = logger if logger is not None else default_logger()
        self._store = store
        self._store_url = store_url or config.settings.store
        self._unavailable_since: float | None = None
        self.idempotency = idempotency
        self.memory_approvals = store is not None
        """A caller's own store may be memory:// (tests, one-process libraries); a config's
        may not hold approvals (nothing else could decide them)."""
        self._safeguards: Safeguards | None = None
        self.store_failures = 0
        """Steps that met a failing store (open, audit; cooldown and limit checks are counted
        by the safeguards): see :attr:`failures`."""
        self.audit_dry_runs = audit_dry_runs
        self._switch: Any = None  # containment.Switch, made on the first destructive action
        self._pool: Any = None  # a ThreadPoolExecutor, made on the first blocking action
        self._lock = threading.Lock()
        self._audit_on = self._audit_wanted(store)
        self._senders = SenderChecks(config.spec)  # source: internal, truncated fields
        self._guarded = bool(config.limits) or any(
            r.cooldown is not None or any(a.cooldown is not None for a in r.actions)
            for r in config.responses)

    @property
    def store(self) -> Any:
        """The state store (``settings.store``, else this process's memory), opened on first
        use: cooldowns, blast-radius limits, the audit trail and idempotency live there.

        A store that cannot be opened (a read-only or garbage file, a lock held too long) is
        an :class:`~falco_response.state.UnavailableStore`: every step that needs it fails as
        a value, and opening is tried again every ``_REOPEN_EVERY`` seconds by one thread
        while the others go on failing closed."""
        store = self._store
        if store is None or (self._unavailable_since is not None
                             and time.monotonic() - self._unavailable_since >= _REOPEN_EVERY):
            if self._lock.acquire(blocking=store is None):
                try:
                    if self._store is None or self._unavailable_since is not None:
                        self._open_store()
                finally:
                    self._lock.release()
            store = self._store
        return store

    def _audit_wanted(self, store: StateStore | None) -> bool:
        """The one rule, decided once at construction: keep an audit trail when the config
        asks for one and it lands where `falco-response audit` can read it: the store given
        (not this process's memory), or, without one, the store the engine opens (a URL,
        not the memory default)."""
        if self.config.audit_retention is None:
            return False
        if store is not None:
            return getattr(store, "url", "") != "memory://"
        return self._store_url is not None and self._store_url != "memory://"

    def _open_store(self) -> None:
        from .state import StoreError, UnavailableStore, open_store

        url = self._store_url or "memory://"
        try:
            opened: Any = open_store(url)
        except Exception as exc:
            reason = (str(exc) if isinstance(exc, StoreError) else
                      f"cannot open {url.partition('?')[0]}: {type(exc).__name__}: {exc}")
            reason = reason[:_MAX_REASON]
            if self._unavailable_since is None:
                self.store_failures += 1
                self.log.error("state store unavailable: destructive actions fail closed",
                               store=url.partition("?")[0], error=reason)
            self._store = UnavailableStore(url.partition("?")[0], reason)
            self._unavailable_since = time.monotonic()
        else:
            if self._unavailable_since is not None:
                self.log.warning("state store reopened", store=opened.url)
            self._store, self._unavailable_since = opened, None
        self._safeguards = None

    @property
    def failures(self) -> int:
        """How many times a step met a failing state store since the engine started."""
        guards = self._safeguards
        return self.store_failures + (guards.failures if guards is not None else 0)

    def close(self) -> None:
        """Stop the action threads (not waiting for hung ones) and close the store."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        if self._store is not None:
            self._store.close()

    @classmethod
    def from_config(cls, source: ConfigSource, plugins: Iterable[Any] = (), *,
                    dry_run: bool = False, entry_points: bool = True,
                    logger: Any = None, store: StateStore | None = None,
                    idempotency: Claims | None = None, audit_dry_runs: bool = True) -> Engine:
        """Build an engine from a config file path or dict.

        ``plugins`` are extra objects or modules with hook implementations (a custom handler's
        own actions); installed plugins load from entry points unless ``entry_points=False``.
        ``logger``, ``store``, ``idempotency`` and ``audit_dry_runs`` are the engine's
        collaborators (see :class:`Engine`). Raises :class:`ConfigError` or
        :class:`PluginError`.
        """
        read = read_config(source)  # first, so plugins whose types it does not use stay unloaded
        manager = build_plugin_manager(plugins, entry_points=entry_points,
                                       action_types=action_types_in(read[1]))
        return cls(load_config(source, manager.actions, read), manager, dry_run=dry_run,
                   logger=logger, store=store, idempotency=idempotency,
                   audit_dry_runs=audit_dry_runs)

    # -- intake -------------------------------------------------------------------------

    def handle(self, payload: Any, *, delivery: Delivery | None = None) -> list[Result]:
        """Handle one payload: one alert, or a batch (Lambda ``Records``). Never raises: an
        unreadable message is a result with ``error`` set, a failing store gives ``failed``
        outcomes, and anything else that raised is a result with ``error`` (not ``ok``, so a
        queue redelivers it). ``delivery`` names the message the payload came in (see
        :mod:`~falco_response.delivery`): results carry its id, and the engine's
        ``idempotency`` claims it."""
        try:
            return self.handle_alerts(read_payload(self.plugins, payload), delivery=delivery)
        except Exception as exc:
            error = f"handling failed: {type(exc).__name__}: {exc}"[:_MAX_REASON]
            _quietly(self.log.error, "handling an alert raised", error=error)
            return [Result(alert=None, error=error,
                           message_id=delivery.message_id if delivery else None)]

    def handle_alerts(self, parsed: Iterable[Parsed], *,
                      delivery: Delivery | None = None) -> list[Result]:
        """One result per message already read (:func:`~falco_response.reading.read_payload`,
        or the alerts ``serve`` queued): alerts are handled, failures reported. Never raises
        for one alert: what raised is that alert's ``error``. A message's own id (a batch
        record's) wins over ``delivery``'s."""
        return [self._safe_alert(alert, _delivery_of(message_id, delivery))
                if isinstance(alert, Alert)
                else self._unreadable(message_id or (delivery.message_id if delivery else None),
                                      alert.error)
                for message_id, alert in parsed]

    def _unreadable(self, message_id: str | None, error: str) -> Result:
        self.log.warning("unreadable message", error=error, message_id=message_id)
        return Result(alert=None, error=error, message_id=message_id)

    def _safe_alert(self, alert: Alert, delivery: Delivery | None) -> Result:
        try:
            return self.handle_alert(alert, delivery=delivery)
        except Exception as exc:  # a bug must cost one message, never the batch or stream
            error = f"handling failed: {type(exc).__name__}: {exc}"[:_MAX_REASON]
            message_id = delivery.message_id if delivery else None
            _quietly(self.log.error, "handling an alert raised", rule=alert.rule,
                     uuid=alert.uuid, error=error, message_id=message_id)
            return Result(alert=alert, error=error, message_id=message_id)

    # -- matching and actions -----------------------------------------------------------

    def handle_alert(self, alert: Alert, *, delivery: Delivery | None = None) -> Result:
        """Filter, claim (when the engine has ``idempotency`` and a ``delivery`` is given: the
        alert came by a transport that redelivers), match and run the actions of every
        matching response for one alert. A claim is released when the alert's handling
        fails or raises, so a redelivery acts again."""
        result = Result(alert=alert, message_id=delivery.message_id if delivery else None)
        try:
            dropped = self.plugins.filter_alert(alert)
        except Exception as exc:
            dropped = None
            self.log.error("filter_alert hook raised", rule=alert.rule,
                           error=f"{type(exc).__name__}: {exc}"[:_MAX_REASON])
        claim = _NO_CLAIM
        if dropped is None and delivery is not None and self.idempotency is not None:
            claim = self.idempotency.claim(self.store, alert, delivery)
            dropped = claim.duplicate
        if dropped is not None:
            result.dropped = str(dropped)
            self.log.info("alert dropped", rule=alert.rule, uuid=alert.uuid, reason=result.dropped)
        elif claim.key is None:
            self._act(alert, result)
        else:
            try:
                self._act(alert, result)
            except BaseException:
                self._release(claim.key)
                raise
            if not result.ok:
                self._release(claim.key)
        self.plugins.alert_handled(alert, result.outcomes, self.log)
        return result

    def _act(self, alert: Alert, result: Result) -> None:
        deadline = time.monotonic() + self.config.alert_deadline
        dry: list[bool] = []
        for response in self.matching(alert):
            self._run_response(alert, response, deadline, result.outcomes, dry)
        if result.outcomes and self._audit_on:
            self._audit(alert, result.outcomes, dry)

    def _release(self, key: str) -> None:
        assert self.idempotency is not None
        self.idempotency.release(self.store, key)

    def _audit(self, alert: Alert, outcomes: list[Outcome], dry: list[bool]) -> None:
        kept = [(o, d) for o, d in zip(outcomes, dry) if not o.detail.get("cooldown")
                and (self.audit_dry_runs or not d)]
        if not kept:
            return
        records = records_for(alert, [o for o, _ in kept], [d for _, d in kept])
        try:
            self.store.record(records, self.config.audit_retention)
        except Exception as exc:  # the audit trail must not stop the response
            self.store_failures += 1
            self.log.error("audit record failed", rule=alert.rule, uuid=alert.uuid,
                           error=f"{type(exc).__name__}: {exc}"[:_MAX_REASON])

    def matching(self, alert: Alert) -> list[Response]:
        """The responses that apply to ``alert``, in file order, honouring ``stop``."""
        return self.config.index.matching(alert)

    def _run_response(self, alert: Alert, response: Response, deadline: float,
                      outcomes: list[Outcome], dry: list[bool]) -> None:
        previous: list[Outcome] = []
        response_dry = self.dry_run or bool(response.dry_run)
        truncated = self._senders.text_fields and self._senders.truncated(alert, response.name)
        for action in response.actions:
            outcome = self._run_action(alert, response, action, deadline, response_dry, previous)
            if truncated:
                outcome = msgspec.structs.replace(outcome, detail={
                    **outcome.detail, "truncated_fields": truncated, "truncation": TRUNCATED_NOTE})
            previous.append(outcome)
            outcomes.append(outcome)
            dry.append(response_dry or bool(action.dry_run))
            self._log_outcome(alert, outcome)

    def approved_context(self, alert: Alert, response: Response,
                         action: BoundAction) -> ActionContext:
        """The context an approved action runs in (approval/execute.py)."""
        start = time.monotonic()
        return ActionContext(
            alert=alert, response=response.name, action=action.name, type=action.type.name,
            dry_run=self.dry_run or bool(response.dry_run) or bool(action.dry_run),
            settings=self.config.settings, log=self.log,
            deadline=start + self.config.action_timeout, started=start)

    def run_approved(self, alert: Alert, response: Response, action: BoundAction,
                     ctx: ActionContext) -> Outcome:
        """Run an action a person approved: every check again (limits too), but no second
        request and no second cooldown claim (the request took it)."""
        return self._run_action(alert, response, action, ctx.deadline, ctx.dry_run, (),
                                approved=True)

    def _run_action(self, alert: Alert, response: Response, action: BoundAction,
                    deadline: float, response_dry: bool, previous: Sequence[Outcome],
                    approved: bool = False) -> Outcome:
        start = time.monotonic()
        ctx = ActionContext(
            alert=alert, response=response.name, action=action.name, type=action.type.name,
            dry_run=response_dry or bool(action.dry_run), settings=self.config.settings,
            log=self.log, deadline=min(deadline, start + self.config.action_timeout),
            previous=tuple(previous), started=start,
        )
        if start >= deadline:
            return ctx.failed("the alert's deadline passed before this action could run")
        if action.type.destructive and self._senders.blocks_destructive(alert, response.name):
            return ctx.skipped(INTERNAL_SKIP)
        if action.type.destructive and action.type.scope == "pod":
            namespace = alert.pod_namespace
            if namespace is not None and namespace in self.config.settings.protected_namespaces:
                return ctx.skipped(f"namespace {namespace} is protected",
                                   target=f"namespace:{namespace}")
        if action.type.destructive:
            paused = self._paused(ctx, action.type.scope)
            if paused is not None:
                return paused
        approval = None if approved else action.approval or (
            response.approval if action.type.destructive else None)
        if approval is not None:
            from .approval.request import ask

            return ask(self, ctx, response, action, approval)
        if not self._guarded:
            return self._call(action, ctx, start)
        cooldown = None if approved else action.cooldown or response.cooldown
        if self._unavailable_since is not None:
            self.store  # noqa: B018 - tries to open it again when due
        safeguards = self._safeguards or self._make_safeguards()
        early, ticket = safeguards.enter(ctx, action.type.destructive, action.type.scope, cooldown)
        if early is not None:
            return early
        outcome = self._call(action, ctx, start)
        safeguards.leave(ticket, outcome)
        if ctx.suppressed and outcome.status is not _FAILED:
            note = f"{ctx.suppressed} similar alerts suppressed during the cooldown"
            outcome = msgspec.structs.replace(
                outcome, reason=f"{outcome.reason}; {note}" if outcome.reason else note,
                detail={**outcome.detail, "suppressed": ctx.suppressed})
        return outcome

    def _paused(self, ctx: ActionContext, scope: str) -> Outcome | None:
        """Skipped while containment is paused (``containment.py``); failed, closed, when the
        switch cannot be read."""
        if self._switch is None:
            from .containment import Switch

            self._switch = Switch(lambda: self.store)
        pause, error = self._switch.check(ctx.type)
        if error is None and pause is None:
            return None
        from .containment import target_of

        target = target_of(ctx.alert, scope)
        if error is not None:
            self.store_failures += 1
            return ctx.failed(f"state store unavailable, not acting without the containment "
                              f"switch check: {error}"[:_MAX_REASON], target=target)
        assert pause is not None
        return ctx.skipped(pause.sentence(), target=target, detail={"paused": pause.scope})

    def _make_safeguards(self) -> Safeguards:
        self._safeguards = Safeguards(self.store, self.config.limits)
        return self._safeguards

    def _call(self, action: BoundAction, ctx: ActionContext, start: float) -> Outcome:
        """Run one action: inline when its type never blocks, else in a worker thread the
        engine stops waiting for at the deadline (a hung plugin cannot stall the others)."""
        response = ctx.response
        try:
            if action.type.blocking:
                outcome = self._in_thread(action, ctx)
            else:
                outcome = action.run(ctx)
        except FalcoResponseError as exc:
            outcome = ctx.failed(str(exc)[:_MAX_REASON])
        except Exception as exc:
            outcome = ctx.failed(f"{type(exc).__name__}: {exc}"[:_MAX_REASON])
        if not isinstance(outcome, Outcome):
            outcome = ctx.failed(f"action returned {type(outcome).__name__}, not an Outcome")
        elif outcome.response != response or outcome.action != action.name:
            outcome = Outcome(response, action.name, action.type.name, outcome.status,
                              outcome.target, outcome.reason, outcome.detail,
                              (time.monotonic() - start) * 1000.0)
        return outcome

    def _in_thread(self, action: BoundAction, ctx: ActionContext) -> Any:
        from concurrent.futures import ThreadPoolExecutor
        from concurrent.futures import TimeoutError as FutureTimeout

        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=_ACTION_THREADS,
                                                    thread_name_prefix="falco-response-action")
        future = self._pool.submit(action.run, ctx)
        timeout = max(ctx.deadline - time.monotonic(), 0.0)
        try:
            # A little grace, so an action that watches its own deadline reports its own
            # outcome ("GET pod ... timed out") rather than being abandoned.
            return future.result(timeout=timeout + _HANG_GRACE)
        except FutureTimeout:
            future.cancel()
            return ctx.failed(f"timed out after {timeout:.1f}s; the action was "
                              "abandoned (it may still finish in the background)")

    def _log_outcome(self, alert: Alert, outcome: Outcome) -> None:
        method = self.log.error if outcome.status is _FAILED else self.log.info
        method("action outcome", rule=alert.rule, uuid=alert.uuid, response=outcome.response,
               action=outcome.action, target=outcome.target, outcome=outcome.status.value,
               reason=outcome.reason, duration_ms=outcome.duration_ms)
