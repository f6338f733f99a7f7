"""Who is using the console, and what they may do.

Operators are not alert senders: they have their own credentials, from an *operators file*
(a mounted Secret), one per line, ``NAME ROLE [TOKEN]``::

    # name           role      token (>= 16 characters; none: signs in through the proxy)
    alice            admin     3f6c0b2e9d4a4c8e8b1f
    bob@example.com  approver

Roles are ordered: ``viewer`` reads; ``approver`` also approves and denies; ``admin`` also
pauses containment and undoes actions. A person signs in with their token and gets a session
cookie (HttpOnly, SameSite=Strict, Secure under TLS) signed with the console's secret and
their token, so removing a token ends its sessions. Behind an authenticating proxy
(oauth2-proxy), the proxy's identity header names the operator instead, accepted only from
the configured proxy addresses; the name must be in the operators file, which gives its role.

Every state-changing request carries a CSRF token bound to the session. Tokens and the
secret never reach a log, a page or an error.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

ROLES = ("viewer", "approver", "admin")
COOKIE = "fr_session"
LOGIN_COOKIE = "fr_login"
SESSION_SECONDS = 8 * 3600
_NAME = re.compile(r"^[A-Za-z0-9@._+-]{1,100}$")


class Operator(NamedTuple):
    name: str
    role: str
    token: bytes | None = None

    def may(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def parse_operators(text: str, source: str = "operators") -> list[Operator]:
    """Operators from ``NAME ROLE [TOKEN]`` lines; ``ValueError`` names the bad line (never
    its token)."""
    found: dict[str, Operator] = {}
    for number, line in enumerate(text.splitlines(), 1):
        words = [] if line.lstrip().startswith("#") else line.split()
        if not words:
            continue
        where = f"{source} line {number}"
        if len(words) not in (2, 3):
            raise ValueError(f"{where}: expected NAME ROLE [TOKEN]")
        name, role = words[0], words[1]
        if not _NAME.match(name):
            raise ValueError(f"{where}: operator name must be letters, digits and @._+-")
        if role not in ROLES:
            raise ValueError(f"{where}: role must be one of {', '.join(ROLES)}")
        token = words[2].encode() if len(words) == 3 else None
        if token is not None and len(token) < 16:
            raise ValueError(f"{where}: a token must be at least 16 characters long")
        if name in found:
            raise ValueError(f"{where}: operator {name} is listed twice")
        found[name] = Operator(name, role, token)
    return list(found.values())


def load_operators(path: str | Path) -> list[Operator]:
    return parse_operators(Path(path).read_text(encoding="utf-8"), str(path))


class Denied(Exception):
    """Refused: ``status`` 401 (who are you?), 403 (not allowed) or 400 (bad CSRF token)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Auth:
    """Sign-in, sessions, the proxy header, roles and CSRF tokens."""

    def __init__(self, operators: Iterable[Operator], *, secret: bytes | None = None,
                 proxy_header: str | None = None, proxy_addresses: Iterable[str] = (),
                 secure: bool = False, session_seconds: float = SESSION_SECONDS) -> None:
        self.operators = {op.name: op for op in operators}
        self._secret = secret or secrets.token_bytes(32)
        self.proxy_header = proxy_header.lower() if proxy_header else None
        self.proxy_addresses = frozenset(proxy_addresses)
        self.secure = secure
        self.session_seconds = session_seconds

    def _mac(self, *parts: str | bytes) -> str:
        message = b"|".join(p.encode() if isinstance(p, str) else p for p in parts)
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    @staticmethod
    def _fingerprint(op: Operator) -> bytes:
        return hashlib.sha256(op.token or b"").digest()

    def sign_in(self, token: str) -> Operator | None:
        """The operator holding ``token``, compared in constant time against every one."""
        given = token.strip().encode("utf-8", "replace")
        found = None
        for op in self.operators.values():
            if op.token is not None and hmac.compare_digest(given, op.token):
                found = op
        return found

    def session_for(self, op: Operator) -> str:
        expires = str(int(time.time() + self.session_seconds))
        return f"{op.name}|{op.role}|{expires}|" + self._mac(
            "session", op.name, op.role, expires, self._fingerprint(op))

    def _from_session(self, value: str) -> Operator | None:
        parts = value.split("|")
        if len(parts) != 4:
            return None
        name, role, expires, mac = parts
        op = self.operators.get(name)
        if op is None or op.role != role or op.token is None or not expires.isdigit():
            return None
        good = self._mac("session", name, role, expires, self._fingerprint(op))
        if not hmac.compare_digest(mac, good) or int(expires) < time.time():
            return None
        return op

    def identify(self, request: Any) -> tuple[Operator, str]:
        """(the operator, what their CSRF token is bound to); raises :class:`Denied`."""
        client = request.client.host if request.client else None
        if self.proxy_header and client in self.proxy_addresses:
            name = request.headers.get(self.proxy_header)
            if name:
                op = self.operators.get(name.strip())
                if op is None:
                    raise Denied(403, "the proxy's user is not in the operators file")
                return op, f"proxy|{op.name}|{op.role}"
        value = request.cookies.get(COOKIE)
        op = self._from_session(value) if value else None
        if op is None:
            raise Denied(401, "sign in first")
        return op, value or ""

    def csrf_for(self, binding: str) -> str:
        return self._mac("csrf", binding)[:40]

    def check_csrf(self, request: Any, binding: str, given: str | None) -> None:
        origin = request.headers.get("origin")
        host = request.headers.get("host", "")
        if origin and origin != "null" and origin.split("://", 1)[-1] != host:
            raise Denied(403, "cross-origin request refused")
        if not given or not hmac.compare_digest(given, self.csrf_for(binding)):
            raise Denied(400, "the form's CSRF token is missing or stale: reload the page")

    def login_nonce(self) -> tuple[str, str]:
        """(cookie value, form token) guarding the sign-in form itself."""
        nonce = secrets.token_hex(16)
        return nonce, self.csrf_for(f"login|{nonce}")
