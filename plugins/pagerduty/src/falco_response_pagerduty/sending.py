"""Sending an event with the official client, retrying with tenacity inside the deadline.

The client's own retry loop retries 429 forever and sleeps without knowing our deadline, so
each call makes exactly one attempt: ``postprocess`` (the client's documented per-response
hook) raises on 429 and 5xx, and ``max_network_attempts = 0`` turns a network error into an
exception at once. tenacity then decides: a bounded number of attempts, backed off (or
``Retry-After``), and never a wait that would end past the action's deadline.

Imported on the first alert only: the client pulls in an HTTP stack.
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any

import pagerduty
from tenacity import (Retrying, retry_if_exception_type, stop_after_attempt)

from falco_response import quiet_transport_logs
from falco_response.retrying import (DeadlineStop, NetworkError, RetryableStatus,
                                      RetryAfterWait, parse_retry_after)


class OneAttemptClient(pagerduty.EventsApiV2Client):
    """The official client, minus its own retry loop (see the module docstring)."""

    max_network_attempts = 0

    def postprocess(self, response: Any) -> None:
        status = response.status_code
        if status == 429 or status >= 500:
            raise RetryableStatus(status, parse_retry_after(response.headers.get("retry-after")))


@dataclass
class Delivery:
    ok: bool
    attempts: int
    dedup_key: str | None = None
    status: int | None = None
    error: str | None = None


class Sender:
    """One per configured action; a client per thread (connections are reused, and the
    per-attempt timeout is the client's attribute, so threads must not share one)."""

    def __init__(self, routing_key: str, endpoint: str, ca_bundle: str | None) -> None:
        self._routing_key = routing_key
        self._endpoint = endpoint
        self._ssl = ssl.create_default_context(cafile=ca_bundle)
        self._local = threading.local()
        quiet_transport_logs("httpx2", "httpcore2", "httpx", "httpcore")

    def _client(self) -> OneAttemptClient:
        client = getattr(self._local, "client", None)
        if client is None:
            client = OneAttemptClient(self._routing_key, base_url=self._endpoint,
                                      verify=self._ssl)
            self._local.client = client
        return client

    def send(self, event: dict[str, Any], *, deadline: float, timeout: float,
             max_attempts: int, retry_wait: float) -> Delivery:
        client = self._client()
        attempts = 0

        def attempt() -> str:
            nonlocal attempts
            attempts += 1
            # httpx takes float seconds; the client's attribute is annotated int
            left = max(0.05, min(timeout, deadline - time.monotonic()))
            client.timeout = left  # type: ignore[assignment]
            try:
                return str(client.send_event("trigger", **event))
            except pagerduty.Error as exc:
                if exc.response is None:  # the client gave up on the network at once
                    cause = exc.__cause__ or exc
                    raise NetworkError(type(cause).__name__) from None
                raise

        stop_at_deadline = DeadlineStop(deadline)
        retrying = Retrying(stop=stop_after_attempt(max_attempts) | stop_at_deadline,
                            wait=RetryAfterWait(retry_wait),
                            retry=retry_if_exception_type((RetryableStatus, NetworkError)),
                            reraise=True)
        try:
            key = retrying(attempt)
        except RetryableStatus as exc:
            return Delivery(False, attempts, status=exc.status,
                            error=_gave_up(f"PagerDuty answered HTTP {exc.status}", attempts,
                                           stop_at_deadline.hit))
        except NetworkError as exc:
            return Delivery(False, attempts, error=_gave_up(f"could not reach PagerDuty ({exc})",
                                                            attempts, stop_at_deadline.hit))
        except pagerduty.HttpError as exc:
            if exc.response is None:
                return Delivery(False, attempts, error="PagerDuty answered nothing usable")
            return Delivery(False, attempts, status=exc.response.status_code,
                            error=_rejection(exc.response))
        return Delivery(True, attempts, dedup_key=key, status=202)


def _gave_up(what: str, attempts: int, deadline: bool) -> str:
    tail = "; the next retry would pass the action's deadline" if deadline else ""
    plural = "s" if attempts != 1 else ""
    return f"{what} after {attempts} attempt{plural}{tail}"


def _rejection(response: Any) -> str:
    """PagerDuty's own words for a refused event: ``message`` and ``errors`` from the body."""
    status = response.status_code
    if status == 401 or status == 403:
        return f"PagerDuty refused the routing key (HTTP {status}): check routing_key and region"
    if 200 <= status < 300:
        return "PagerDuty's answer had no dedup_key"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        message = str(body.get("message") or body.get("status") or "")
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            message += ": " + "; ".join(str(e) for e in errors[:5])
    else:
        message = response.text[:200]
    return f"PagerDuty rejected the event (HTTP {status}): {message}"[:500]
