"""HMAC-SHA256 request signing, and its verification for receivers written in Python.

The sender signs ``"{timestamp}." + body`` (the exact bytes it POSTs) with the shared secret
and sends ``X-Falco-Response-Timestamp: {timestamp}`` and
``X-Falco-Response-Signature: sha256={hex digest}``. Including the timestamp in the signed
string stops replays: a receiver rejects timestamps older than a few minutes, and an attacker
cannot move a captured signature onto a fresh timestamp. A receiver::

    from falco_response_webhook.signing import verify
    if not verify(secret, request.headers, raw_body):
        return 401
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

TIMESTAMP_HEADER = "X-Falco-Response-Timestamp"
SIGNATURE_HEADER = "X-Falco-Response-Signature"
PREFIX = "sha256="
DEFAULT_TOLERANCE_S = 300


def signature(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    digest = hmac.new(key, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return PREFIX + digest.hexdigest()


def sign(secret: str | bytes, body: bytes, now: float | None = None) -> dict[str, str]:
    """The two headers to send with ``body``."""
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(secret: str | bytes, headers: Mapping[str, str], body: bytes, *,
           tolerance_s: float = DEFAULT_TOLERANCE_S, now: float | None = None,
           timestamp_header: str = TIMESTAMP_HEADER,
           signature_header: str = SIGNATURE_HEADER) -> bool:
    """True when ``body`` was signed with ``secret`` within ``tolerance_s`` of ``now``.

    ``headers`` may be any mapping; names are matched without regard to case. The comparison
    is constant-time.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    sent_at = lowered.get(timestamp_header.lower(), "")
    given = lowered.get(signature_header.lower(), "")
    if not sent_at.isdigit() or not given.startswith(PREFIX):
        return False
    current = time.time() if now is None else now
    if abs(current - int(sent_at)) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, int(sent_at), body), given)
