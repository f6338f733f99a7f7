"""Who may post alerts: bearer tokens (falcosidekick's custom headers) and mutual TLS.

Mutual TLS is enforced by the TLS layer (uvicorn's ``ssl_cert_reqs=CERT_REQUIRED`` with the
client CA): a client without a certificate signed by that CA never gets an HTTP exchange.
Tokens are checked here, in constant time, against every configured token (two may be
configured at once while one is rotated).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterable
from pathlib import Path


class TokenError(Exception):
    """Why a request's credentials were refused; ``status`` is 401 or 403."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def load_tokens(env_name: str | None = None, file: str | Path | None = None) -> list[bytes]:
    """Tokens from an environment variable and/or a file (one per line or comma-separated)."""
    texts = []
    if env_name:
        texts.append(os.environ.get(env_name, ""))
    if file:
        texts.append(Path(file).read_text(encoding="utf-8"))
    tokens = [t.strip() for text in texts for t in text.replace(",", "\n").splitlines()]
    tokens = [t for t in tokens if t]
    for token in tokens:
        if len(token) < 16:
            raise ValueError("a bearer token must be at least 16 characters long")
    return [t.encode() for t in tokens]


class TokenChecker:
    """Checks ``Authorization: Bearer <token>``. With no tokens configured, admits all."""

    def __init__(self, tokens: Iterable[bytes]) -> None:
        self.tokens = tuple(tokens)

    @property
    def enabled(self) -> bool:
        return bool(self.tokens)

    def check(self, header: str | None) -> None:
        if not self.tokens:
            return
        if not header:
            raise TokenError(401, "missing bearer token")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise TokenError(401, "the Authorization header is not a bearer token")
        given = value.strip().encode("utf-8", "replace")
        found = False
        for token in self.tokens:  # no early exit: the time taken does not say which matched
            found |= hmac.compare_digest(given, token)
        if not found:
            raise TokenError(403, "bearer token not accepted")
