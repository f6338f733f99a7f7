"""Sending a message with slack-sdk, retrying only while the action's deadline allows.

slack-sdk's retry handlers sleep for ``Retry-After`` whatever it says; ours apply the
project's one retry policy (``falco_response.retrying``): a retry only when the wait plus a
short attempt still fits before the deadline (``fits``), the next attempt's timeout cut to
what is left (``attempt_timeout``), ``Retry-After`` read by ``parse_retry_after``. The clients get a muted logger: slack-sdk logs the full request URL
(for a webhook, the secret itself) at debug and on retries.

slack_sdk is imported here, and this module only on the first alert, so a config load stays
cheap.
"""

from __future__ import annotations

import logging
import random
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

from falco_response.retrying import attempt_timeout, fits, parse_retry_after
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (ConnectionErrorRetryHandler,
                                                   RateLimitErrorRetryHandler,
                                                   ServerErrorRetryHandler)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import WebClient
from slack_sdk.webhook import WebhookClient

_ERROR_CODE = re.compile(r"[^A-Za-z0-9_.\- ]")

_MUTED = logging.Logger("falco_response_slack.sdk", level=logging.CRITICAL + 1)
_MUTED.disabled = True
_MUTED.propagate = False


@dataclass
class Delivery:
    """What one send did: ``error`` is Slack's error code (or our words) when it failed."""

    ok: bool
    status: int | None = None
    error: str | None = None
    attempts: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


class _Budget:
    """The deadline shared by one send's retry handlers, and the client whose timeout shrinks."""

    def __init__(self, deadline: float, timeout: float) -> None:
        self.deadline = deadline
        self.timeout = timeout
        self.client: Any = None
        self.attempts = 1
        self.gave_up: str | None = None

    def allows(self, delay: float) -> bool:
        return fits(self.deadline, delay)

    def attempt_timeout(self) -> float:
        return attempt_timeout(self.timeout, self.deadline)

    def after_sleep(self) -> None:
        self.attempts += 1
        if self.client is not None:
            self.client.timeout = self.attempt_timeout()


def retry_after(response: Optional[HttpResponse]) -> float:
    """Seconds from ``Retry-After`` (Slack sends whole seconds); 1 when absent or unreadable."""
    if response is None:
        return 1.0
    for name, values in response.headers.items():
        if name.lower() == "retry-after" and values:
            seconds = parse_retry_after(values[0])
            return 1.0 if seconds is None else seconds
    return 1.0


class _DeadlineMixin(RetryHandler):
    budget: _Budget
    _pending: float = 0.0

    def _delay(self, state: RetryState, response: Optional[HttpResponse]) -> float:
        return float(self.interval_calculator.calculate_sleep_duration(state.current_attempt))

    def can_retry(self, *, state: RetryState, request: HttpRequest,
                  response: Optional[HttpResponse] = None,
                  error: Optional[Exception] = None) -> bool:
        if not super().can_retry(state=state, request=request, response=response, error=error):
            return False
        self._pending = self._delay(state, response)
        if not self.budget.allows(self._pending):
            self.budget.gave_up = (f"the next retry (in {self._pending:.1f}s) would pass the "
                                   "action's deadline")
            return False
        return True

    def prepare_for_next_attempt(self, *, state: RetryState, request: HttpRequest,
                                 response: Optional[HttpResponse] = None,
                                 error: Optional[Exception] = None) -> None:
        state.next_attempt_requested = True
        time.sleep(self._pending)
        state.increment_current_attempt()
        self.budget.after_sleep()


class DeadlineRateLimitHandler(_DeadlineMixin, RateLimitErrorRetryHandler):
    """429: wait ``Retry-After`` (plus a little jitter) if that still ends before the deadline."""

    def __init__(self, budget: _Budget, max_retry_count: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.budget = budget

    def _delay(self, state: RetryState, response: Optional[HttpResponse]) -> float:
        return retry_after(response) + random.uniform(0.0, 0.2)


class DeadlineServerErrorHandler(_DeadlineMixin, ServerErrorRetryHandler):
    """500/503: one backed-off retry, within the deadline."""

    def __init__(self, budget: _Budget) -> None:
        super().__init__(max_retry_count=1)
        self.budget = budget


class DeadlineConnectionHandler(_DeadlineMixin, ConnectionErrorRetryHandler):
    """Connection reset / refused: one backed-off retry, within the deadline."""

    def __init__(self, budget: _Budget) -> None:
        super().__init__(max_retry_count=1)
        self.budget = budget


def _handlers(budget: _Budget, max_retries: int) -> list[RetryHandler]:
    return [DeadlineRateLimitHandler(budget, max_retries), DeadlineServerErrorHandler(budget),
            DeadlineConnectionHandler(budget)]


def _webhook_client(url: str, budget: _Budget, max_retries: int,
                    context: ssl.SSLContext) -> WebhookClient:
    """A webhook / response_url client whose attempts and retries share ``budget``."""
    # urllib takes float seconds; slack-sdk annotates int
    client = WebhookClient(url, timeout=budget.attempt_timeout(),  # type: ignore[arg-type]
                           ssl=context, logger=_MUTED)
    budget.client = client
    client.retry_handlers = _handlers(budget, max_retries)
    return client


def _web_client(token: str, api_url: str, budget: _Budget, max_retries: int,
                context: ssl.SSLContext) -> WebClient:
    """A Web API client (bot token) whose attempts and retries share ``budget``."""
    client = WebClient(token=token, base_url=api_url,
                       timeout=budget.attempt_timeout(),  # type: ignore[arg-type]
                       ssl=context, logger=_MUTED)
    budget.client = client
    client.retry_handlers = _handlers(budget, max_retries)
    return client


def _api_error(exc: SlackApiError) -> tuple[int | None, object]:
    """(HTTP status, Slack's ``error`` field or ``not ok``) of a refused Web API call."""
    data = getattr(exc.response, "data", None)
    code = data.get("error") if isinstance(data, dict) else None
    return getattr(exc.response, "status_code", None), code or "not ok"


def error_code(text: object) -> str:
    """Slack's error code (``invalid_blocks``, ``channel_not_found``) as safe short text."""
    return _ERROR_CODE.sub("", str(text))[:100] or "no error code"


def ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_bundle)


def send_webhook(url: str, body: dict[str, Any], *, deadline: float, timeout: float,
                 max_retries: int, context: ssl.SSLContext,
                 redact: Callable[[object], str] = str) -> Delivery:
    """POST to an incoming webhook. Only HTTP 200 with body ``ok`` is a success.

    ``redact`` runs on what Slack sent back before it is cut to an error code (a 404 body may
    quote the URL, and with its slashes stripped it would no longer match)."""
    budget = _Budget(deadline, timeout)
    client = _webhook_client(url, budget, max_retries, context)
    response = client.send_dict(body)
    if response.status_code == 200 and response.body == "ok":
        return Delivery(True, 200, attempts=budget.attempts)
    return Delivery(False, response.status_code, error_code(redact(response.body)),
                    attempts=budget.attempts, extra={"gave_up": budget.gave_up})


def send_chat(token: str, api_url: str, channel: str, body: dict[str, Any], *, deadline: float,
              timeout: float, max_retries: int, context: ssl.SSLContext,
              redact: Callable[[object], str] = str) -> Delivery:
    """``chat.postMessage`` with a bot token. Slack answers ``{"ok": false, "error": ...}``
    on failure, which slack-sdk raises as :class:`SlackApiError`."""
    budget = _Budget(deadline, timeout)
    client = _web_client(token, api_url, budget, max_retries, context)
    try:
        response = client.chat_postMessage(channel=channel, **body)
    except SlackApiError as exc:
        status, code = _api_error(exc)
        return Delivery(False, status, error_code(redact(code)), attempts=budget.attempts,
                        extra={"gave_up": budget.gave_up})
    return Delivery(True, response.status_code, attempts=budget.attempts,
                    extra={"channel": response.get("channel"), "ts": response.get("ts")})


def send_response_url(url: str, body: dict[str, Any], *, deadline: float, timeout: float,
                      max_retries: int, context: ssl.SSLContext,
                      redact: Callable[[object], str] = str) -> Delivery:
    """POST to an interaction's ``response_url`` (it answers 200 and ``ok`` or a JSON
    ``{"ok": true}``). The URL came in a request whose signature was checked."""
    if not url.startswith("https://"):
        return Delivery(False, None, "response_url is not https")
    budget = _Budget(deadline, timeout)
    client = _webhook_client(url, budget, max_retries, context)
    response = client.send_dict(body)
    if response.status_code == 200 and "false" not in (response.body or "ok").replace(" ", ""):
        return Delivery(True, 200, attempts=budget.attempts)
    return Delivery(False, response.status_code, error_code(redact(response.body)),
                    attempts=budget.attempts, extra={"gave_up": budget.gave_up})


def update_chat(token: str, api_url: str, channel: str, ts: str, body: dict[str, Any], *,
                deadline: float, timeout: float, max_retries: int, context: ssl.SSLContext,
                redact: Callable[[object], str] = str) -> Delivery:
    """``chat.update`` of a message the bot posted (``channel`` and ``ts`` from its post)."""
    budget = _Budget(deadline, timeout)
    client = _web_client(token, api_url, budget, max_retries, context)
    try:
        response = client.chat_update(channel=channel, ts=ts, **body)
    except SlackApiError as exc:
        status, code = _api_error(exc)
        return Delivery(False, status, error_code(redact(code)), attempts=budget.attempts)
    return Delivery(True, response.status_code, attempts=budget.attempts)
