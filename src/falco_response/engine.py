"""The engine: where an alert enters (``handle``), is matched, and its actions run.

Library use::

    from falco_response import Engine
    engine = Engine.from_config("falco-response.yaml")
    for result in engine.handle(payload):   # bytes, str or dict; a Lambda batch gives many
        print(result.to_dict())
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from typing import Any

import structlog

from .actions import ActionContext
from .alert import Alert
from .config import BoundAction, Config, ConfigSource, Response, load_config
from .errors import FalcoResponseError, ParseError
from .outcome import Outcome, Result, Status
from .parsing import decode, fast_alert, split_batch
from .plugins import Plugins, build_plugin_manager

DRY_RUN_ENV = "FALCO_RESPONSE_DRY_RUN"
_MAX_REASON = 500


def forced_dry_run() -> bool:
    return os.environ.get(DRY_RUN_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


class Engine:
    """Parses, filters, matches and runs actions. Thread-safe for ``handle`` once built.

    Dry run is sticky: if the engine (``dry_run=True``, ``--dry-run``,
    ``FALCO_RESPONSE_DRY_RUN=1``), ``settings.dry_run``, the response or the action says
    dry run, the action runs as a dry run; no level can turn it back on.
    """

    def __init__(self, config: Config, plugins: Plugins, *, dry_run: bool = False,
                 logger: Any = None) -> None:
        self.config = config
        self.plugins = plugins
        self.dry_run = dry_run or forced_dry_run() or config.settings.dry_run
        self.log = logger if logger is not None else structlog.get_logger("falco_response")

    @classmethod
    def from_config(cls, source: ConfigSource, plugins: Iterable[Any] = (), *,
                    dry_run: bool = False, entry_points: bool = True,
                    logger: Any = None) -> Engine:
        """Build an engine from a config file path or dict.

        ``plugins`` are extra objects or modules with hook implementations (a custom handler's
        own actions); installed plugins load from entry points unless ``entry_points=False``.
        Raises :class:`ConfigError` or :class:`PluginError`.
        """
        manager = build_plugin_manager(plugins, entry_points=entry_points)
        return cls(load_config(source, manager.actions), manager, dry_run=dry_run, logger=logger)

    # -- intake -------------------------------------------------------------------------

    def handle(self, payload: Any) -> list[Result]:
        """Handle one payload: one alert, or a batch (Lambda ``Records``). Never raises for
        bad input: an unreadable message is a result with ``error`` set."""
        if isinstance(payload, (bytes, bytearray, memoryview)):
            payload = bytes(payload)
        if isinstance(payload, (str, bytes)):
            if self.plugins.only_builtin_parser:
                alert = fast_alert(payload)
                if alert is not None:
                    return [self.handle_alert(alert)]
            try:
                decoded = decode(payload)
                error = "message must be a JSON object"
            except ParseError as exc:
                decoded, error = None, str(exc)
            if not isinstance(decoded, dict):
                # Not a JSON object: a plugin's parser may still know the raw text.
                raw_alert = self._parse(payload)
                if isinstance(raw_alert, Alert):
                    return [self.handle_alert(raw_alert)]
                return [self._unreadable(None, raw_alert or error)]
            payload = decoded
        if not (isinstance(payload, dict) and "Records" in payload):
            alert_or_error = self._parse(payload)
            if isinstance(alert_or_error, Alert):
                return [self.handle_alert(alert_or_error)]
            return [self._unreadable(None, alert_or_error or "no parser recognised the message")]
        if not payload["Records"]:
            return [self._unreadable(None, "batch has no records")]
        results = []
        for message_id, message in split_batch(payload):
            parsed = self._parse(message)
            if isinstance(parsed, Alert):
                results.append(self.handle_alert(parsed, message_id=message_id))
            else:
                results.append(self._unreadable(message_id, parsed or "no parser recognised "
                                                "the message"))
        return results

    def _parse(self, message: Any) -> Alert | str | None:
        try:
            return self.plugins.parse_alert(message)
        except ParseError as exc:
            return str(exc)
        except Exception as exc:  # a third-party parser's bug must not take the process down
            return f"parser failed: {type(exc).__name__}: {exc}"[:_MAX_REASON]

    def _unreadable(self, message_id: str | None, error: str) -> Result:
        self.log.warning("unreadable message", error=error, message_id=message_id)
        return Result(alert=None, error=error, message_id=message_id)

    # -- matching and actions -----------------------------------------------------------

    def handle_alert(self, alert: Alert, *, message_id: str | None = None) -> Result:
        """Filter, match and run the actions of every matching response for one alert."""
        result = Result(alert=alert, message_id=message_id)
        try:
            dropped = self.plugins.filter_alert(alert)
        except Exception as exc:
            dropped = None
            self.log.error("filter_alert hook raised", rule=alert.rule,
                           error=f"{type(exc).__name__}: {exc}"[:_MAX_REASON])
        if dropped is not None:
            result.dropped = str(dropped)
            self.log.info("alert dropped", rule=alert.rule, uuid=alert.uuid, reason=result.dropped)
        else:
            deadline = time.monotonic() + self.config.alert_deadline
            for response in self.matching(alert):
                self._run_response(alert, response, deadline, result.outcomes)
        self.plugins.alert_handled(alert, result.outcomes, self.log)
        return result

    def matching(self, alert: Alert) -> list[Response]:
        """The responses that apply to ``alert``, in file order, honouring ``stop``."""
        found = []
        for match, response in self.config.index.candidates(alert.rule):
            if match(alert):
                found.append(response)
                if response.stop:
                    break
        return found

    def _run_response(self, alert: Alert, response: Response, deadline: float,
                      outcomes: list[Outcome]) -> None:
        previous: list[Outcome] = []
        response_dry = self.dry_run or bool(response.dry_run)
        for action in response.actions:
            outcome = self._run_action(alert, response, action, deadline, response_dry, previous)
            previous.append(outcome)
            outcomes.append(outcome)
            self._log_outcome(alert, outcome)

    def _run_action(self, alert: Alert, response: Response, action: BoundAction,
                    deadline: float, response_dry: bool, previous: Sequence[Outcome]) -> Outcome:
        start = time.monotonic()
        ctx = ActionContext(
            alert=alert, response=response.name, action=action.name, type=action.type.name,
            dry_run=response_dry or bool(action.dry_run), settings=self.config.settings,
            log=self.log, deadline=min(deadline, start + self.config.action_timeout),
            previous=tuple(previous), started=start,
        )
        if start >= deadline:
            return ctx.failed("the alert's deadline passed before this action could run")
        if action.type.destructive:
            namespace = alert.pod_namespace
            if namespace is not None and namespace in self.config.settings.protected_namespaces:
                return ctx.skipped(f"namespace {namespace} is protected",
                                   target=f"namespace:{namespace}")
        try:
            outcome = action.run(ctx)
        except FalcoResponseError as exc:
            outcome = ctx.failed(str(exc)[:_MAX_REASON])
        except Exception as exc:
            outcome = ctx.failed(f"{type(exc).__name__}: {exc}"[:_MAX_REASON])
        if not isinstance(outcome, Outcome):
            outcome = ctx.failed(f"action returned {type(outcome).__name__}, not an Outcome")
        elif outcome.response != response.name or outcome.action != action.name:
            outcome = Outcome(response.name, action.name, action.type.name, outcome.status,
                              outcome.target, outcome.reason, outcome.detail,
                              (time.monotonic() - start) * 1000.0)
        return outcome

    def _log_outcome(self, alert: Alert, outcome: Outcome) -> None:
        method = self.log.error if outcome.status is Status.FAILED else self.log.info
        method("action outcome", rule=alert.rule, uuid=alert.uuid, response=outcome.response,
               action=outcome.action, target=outcome.target, outcome=outcome.status.value,
               reason=outcome.reason, duration_ms=outcome.duration_ms)
