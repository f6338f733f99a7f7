"""falco_response.retrying: the one retry policy the plugins share."""

from __future__ import annotations

import time

import pytest
from tenacity import retry_if_exception_type

from falco_response.retrying import (MIN_ATTEMPT_S, RetryableStatus, attempt_timeout,
                                     deadline_retrying, fits, retry_after_of)


class ApiError(Exception):
    """Like the kubernetes client's ApiException: the answer's headers on the error."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__("429")
        self.headers = headers


def test_retry_after_comes_from_our_error_or_a_client_errors_headers() -> None:
    assert retry_after_of(RetryableStatus(429, 2.0)) == 2.0
    assert retry_after_of(ApiError({"Retry-After": "3"})) == 3.0
    assert retry_after_of(ApiError({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) is None
    assert retry_after_of(ValueError("x")) is None and retry_after_of(None) is None


def test_an_attempt_only_starts_when_it_fits_before_the_deadline() -> None:
    now = time.monotonic()
    assert fits(now + 10, 1.0) and not fits(now + MIN_ATTEMPT_S / 2)
    assert attempt_timeout(5.0, now + 1.0) <= 1.0 and attempt_timeout(5.0, now - 1) == 0.05


def test_the_policy_waits_retry_after_and_stops_at_the_deadline_not_past_it() -> None:
    sleeps: list[float] = []
    calls = 0

    def attempt() -> None:
        nonlocal calls
        calls += 1
        raise ApiError({"Retry-After": "0.5" if calls == 1 else "60"})

    retrying, stop = deadline_retrying(time.monotonic() + 5, max_attempts=6, initial=0.1,
                                       retry=retry_if_exception_type(ApiError),
                                       sleep=sleeps.append)
    with pytest.raises(ApiError):
        retrying(attempt)
    assert (calls, sleeps, stop.hit) == (2, [0.5], True)  # a 60 s wait would pass the deadline


def test_the_policy_stops_at_max_attempts_with_backoff() -> None:
    sleeps: list[float] = []

    def attempt() -> None:
        raise RetryableStatus(503, None)

    retrying, stop = deadline_retrying(time.monotonic() + 60, max_attempts=3, initial=0.1,
                                       retry=retry_if_exception_type(RetryableStatus),
                                       sleep=sleeps.append)
    with pytest.raises(RetryableStatus):
        retrying(attempt)
    assert len(sleeps) == 2 and all(0.1 <= s <= 0.5 for s in sleeps) and not stop.hit
