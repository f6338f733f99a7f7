"""One POST with the standard library, retried by tenacity inside the action's deadline.

``http.client`` rather than a pooled client: it logs nothing (urllib3 logs the request path
at debug, and a webhook URL may carry a token in its query), and one connection per alert is
plenty for a notifier. Retried: 429 (honouring ``Retry-After``), 5xx, and connection errors
or timeouts; never a certificate failure, a redirect or another 4xx.
"""

from __future__ import annotations

import http.client
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from tenacity import (Retrying, retry_if_exception_type, stop_after_attempt)

from falco_response.retrying import (DeadlineStop, NetworkError, RetryableStatus,
                                      RetryAfterWait, parse_retry_after)

USER_AGENT = "falco-response-webhook/0.1"


@dataclass
class Delivery:
    ok: bool
    attempts: int
    status: int | None = None
    error: str | None = None


def post_once(url: str, body: bytes, headers: dict[str, str], timeout: float,
              context: ssl.SSLContext) -> int:
    """One POST; returns the status, raises :class:`RetryableStatus` or :class:`NetworkError`."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=timeout,
                                           context=context)
    else:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(65536)
        status = response.status
        retry_after = parse_retry_after(response.getheader("Retry-After"))
    except ssl.SSLCertVerificationError:
        raise
    except (OSError, http.client.HTTPException) as exc:
        raise NetworkError(type(exc).__name__) from None
    finally:
        conn.close()
    if status == 429 or status >= 500:
        raise RetryableStatus(status, retry_after)
    return status


def deliver(url: str, body: bytes, make_headers: Callable[[], dict[str, str]], *,
            deadline: float, timeout: float, max_attempts: int, retry_wait: float,
            context: ssl.SSLContext) -> Delivery:
    """POST ``body`` until a non-retryable answer, ``max_attempts``, or the deadline.

    ``make_headers`` runs per attempt so a retry carries a fresh signed timestamp.
    """
    attempts = 0

    def attempt() -> int:
        nonlocal attempts
        attempts += 1
        left = max(0.05, min(timeout, deadline - time.monotonic()))
        return post_once(url, body, {"User-Agent": USER_AGENT, **make_headers()}, left, context)

    stop_at_deadline = DeadlineStop(deadline)
    retrying = Retrying(stop=stop_after_attempt(max_attempts) | stop_at_deadline,
                        wait=RetryAfterWait(retry_wait),
                        retry=retry_if_exception_type((RetryableStatus, NetworkError)),
                        reraise=True)
    tail = "; the next retry would pass the action's deadline"
    try:
        status = retrying(attempt)
    except RetryableStatus as exc:
        return Delivery(False, attempts, exc.status,
                        f"webhook answered HTTP {exc.status} after {_n(attempts)}"
                        f"{tail if stop_at_deadline.hit else ''}")
    except NetworkError as exc:
        return Delivery(False, attempts, None,
                        f"could not reach the webhook ({exc}) after {_n(attempts)}"
                        f"{tail if stop_at_deadline.hit else ''}")
    except ssl.SSLCertVerificationError:
        return Delivery(False, attempts, None, "the webhook's TLS certificate is not trusted "
                                               "(CERTIFICATE_VERIFY_FAILED); see ca_bundle")
    if 200 <= status < 300:
        return Delivery(True, attempts, status)
    if 300 <= status < 400:
        return Delivery(False, attempts, status,
                        f"webhook answered HTTP {status}; redirects are not followed")
    return Delivery(False, attempts, status, f"webhook answered HTTP {status}")


def _n(attempts: int) -> str:
    return f"{attempts} attempt{'s' if attempts != 1 else ''}"
