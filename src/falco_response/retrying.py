"""The one retry policy of every plugin that calls a remote API (tenacity-based).

The core never imports this module; plugins that do depend on tenacity themselves (or on the
``falco-response[retry]`` extra). The rules, in one place: retry 429, 5xx and network errors
(the caller says which exceptions those are), honour ``Retry-After``, back off exponentially
with jitter otherwise, stop after ``max_attempts``, and never start an attempt that could not
get :data:`MIN_ATTEMPT_S` before the action's deadline (:func:`fits`). :func:`deadline_retrying`
builds it; a client with its own retry hooks (slack-sdk) asks :func:`fits` and
:func:`attempt_timeout` and reads the header with :func:`parse_retry_after`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tenacity import (RetryCallState, Retrying, stop_after_attempt, wait_exponential,
                      wait_random)
from tenacity.retry import retry_base
from tenacity.stop import stop_base

MIN_ATTEMPT_S = 0.25
"""No attempt starts with less time than this left before the deadline."""


class RetryableStatus(Exception):
    """The receiver answered 429 or 5xx: worth another attempt if time allows."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class NetworkError(Exception):
    """No usable answer: refused, reset, TLS failure, timed out."""


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the HTTP-date form is treated as absent)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class DeadlineStop(stop_base):
    """tenacity stop: the next wait plus a short attempt would end past the deadline.
    ``hit`` tells afterwards whether the deadline (not the attempt count) stopped it."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.hit = False

    def __call__(self, state: RetryCallState) -> bool:
        if not fits(self.deadline, state.upcoming_sleep):
            self.hit = True
        return self.hit


def fits(deadline: float, delay: float = 0.0) -> bool:
    """Whether an attempt started after ``delay`` seconds still gets :data:`MIN_ATTEMPT_S`
    before ``deadline`` (a ``time.monotonic()`` value)."""
    return time.monotonic() + delay + MIN_ATTEMPT_S < deadline


def attempt_timeout(timeout: float, deadline: float) -> float:
    """The next attempt's timeout: the configured one, cut to what is left (50 ms at least,
    so a client never gets a zero or negative timeout)."""
    return max(0.05, min(timeout, deadline - time.monotonic()))


def retry_after_of(error: BaseException | None) -> float | None:
    """``Retry-After`` carried by an error: :class:`RetryableStatus`'s, or the header of an
    exception with ``headers`` (the kubernetes client's ``ApiException``)."""
    if isinstance(error, RetryableStatus):
        return error.retry_after
    headers: Any = getattr(error, "headers", None)
    if headers is None or not hasattr(headers, "get"):
        return None
    return parse_retry_after(headers.get("Retry-After"))


class RetryAfterWait:
    """tenacity wait: ``Retry-After`` when the receiver sent one, else exponential backoff
    with jitter starting at ``initial`` seconds (capped at 30)."""

    def __init__(self, initial: float) -> None:
        self.backoff = wait_exponential(multiplier=initial, max=30) + wait_random(0, initial)

    def __call__(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        after = retry_after_of(error)
        return after if after is not None else float(self.backoff(state))


def deadline_retrying(deadline: float, *, max_attempts: int, initial: float,
                      retry: retry_base, sleep: Callable[[float], None] = time.sleep,
                      ) -> tuple[Retrying, DeadlineStop]:
    """The policy: a tenacity ``Retrying`` that retries what ``retry`` accepts, waits
    ``Retry-After`` or backs off from ``initial`` seconds, and stops at ``max_attempts`` or when
    the next attempt would not fit before ``deadline``; re-raises the last error. The
    :class:`DeadlineStop` tells afterwards whether the deadline is what stopped it."""
    stop_at_deadline = DeadlineStop(deadline)
    retrying = Retrying(stop=stop_after_attempt(max_attempts) | stop_at_deadline,
                        wait=RetryAfterWait(initial), retry=retry, sleep=sleep, reraise=True)
    return retrying, stop_at_deadline
