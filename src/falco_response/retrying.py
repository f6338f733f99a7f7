"""Retries inside an action's deadline, for plugins that call HTTP APIs (tenacity-based).

The core never imports this module; plugins that do depend on tenacity themselves (or on the
``falco-response[retry]`` extra). One place for the rules every notifier follows: retry 429,
5xx and network errors, honour ``Retry-After``, back off exponentially with jitter otherwise,
and never start an attempt that could not finish before the deadline.
"""

from __future__ import annotations

import time

from tenacity import RetryCallState, wait_exponential, wait_random
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
        if time.monotonic() + state.upcoming_sleep + MIN_ATTEMPT_S >= self.deadline:
            self.hit = True
        return self.hit


class RetryAfterWait:
    """tenacity wait: ``Retry-After`` when the receiver sent one, else exponential backoff
    with jitter starting at ``initial`` seconds (capped at 30)."""

    def __init__(self, initial: float) -> None:
        self.backoff = wait_exponential(multiplier=initial, max=30) + wait_random(0, initial)

    def __call__(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetryableStatus) and error.retry_after is not None:
            return error.retry_after
        return float(self.backoff(state))
