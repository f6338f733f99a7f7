"""Slack's request signing, checked as Slack documents it: ``v0=`` + hex HMAC-SHA256, keyed
with the app's signing secret, over ``v0:{X-Slack-Request-Timestamp}:{raw body}``; a
timestamp more than five minutes from now is refused (a replayed request), and the digests
are compared in constant time. The secret is never logged nor put in an error."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

MAX_AGE = 300
from ..environment import SLACK_SIGNING_SECRET as SECRET_ENV


class BadSignature(Exception):
    """``reason`` is a metrics label (``bad_signature``, ``stale_timestamp``, ...)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def sign(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


class SignatureChecker:
    def __init__(self, secret: str | None, *, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret or None
        self._clock = clock

    @property
    def configured(self) -> bool:
        return self._secret is not None

    def check(self, timestamp: str | None, signature: str | None, body: bytes) -> None:
        """Raise :class:`BadSignature` unless the request is Slack's, signed now."""
        if self._secret is None:
            raise BadSignature("not_configured", f"no Slack signing secret (set {SECRET_ENV})")
        if not timestamp or not signature:
            raise BadSignature("unsigned", "X-Slack-Request-Timestamp and X-Slack-Signature "
                               "are required")
        if not timestamp.isdigit() or len(timestamp) > 12:
            raise BadSignature("bad_timestamp", "X-Slack-Request-Timestamp is not a number")
        if abs(self._clock() - int(timestamp)) > MAX_AGE:
            raise BadSignature("stale_timestamp", "X-Slack-Request-Timestamp is more than 5 "
                               "minutes away from now (a replayed request?)")
        expected = sign(self._secret, timestamp, body)
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            raise BadSignature("bad_signature", "X-Slack-Signature does not match the body")
