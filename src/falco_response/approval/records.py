"""What an approval leaves in the state store, and the store operations on it.

Three values per approval, each one store request (``put``/``put_new``/``get``):

- ``approval:req:<id>``: the request (:class:`Request`), written once when it is made;
- ``approval:dec:<id>``: the decision (:class:`Decision`), written with ``put_new`` so the
  first decision wins atomically on every backend, whichever replica or command makes it;
- ``approval:res:<id>``: what executing the decision did (:class:`Result`).

``approval:run:<id>`` is a claim taken before acting: a decision runs once, even when two
replicas (or a replica and the sweeper) both see it.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import datetime, timezone
from typing import Any, Optional

import msgspec

REQ, DEC, RES, RUN = "approval:req:", "approval:dec:", "approval:res:", "approval:run:"
LEASE = "approval:sweeper"
KEEP_AFTER = 7 * 86400.0
"""Seconds an approval's records outlive its timeout (``falco-response approvals --all``)."""


class Request(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    created: float
    expires_at: float
    response: str
    action: str
    action_type: str
    target: Optional[str]
    uid: Optional[str]
    planned: str
    fingerprint: str
    approvers: tuple[str, ...]
    timeout_label: str
    on_timeout: str
    via: str
    alert: dict[str, Any]
    channel: Optional[str] = None
    ts: Optional[str] = None


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    verdict: str
    """``approve``, ``deny`` or ``timeout``."""
    by: str
    """A Slack user id, ``cli:NAME``, or ``policy`` for a timeout."""
    via: str
    """``slack``, ``cli`` or ``timeout``."""
    at: float
    response_url: Optional[str] = None


class Result(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    reason: Optional[str]
    target: Optional[str]
    at: float


_encode = msgspec.json.Encoder().encode


def new_id() -> str:
    """128 bits from the OS's CSPRNG, as 32 hex digits."""
    return secrets.token_hex(16)


def is_id(text: str) -> bool:
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text)


def fingerprint(action: str, target: str | None, uid: str | None, alert: dict[str, Any]) -> str:
    """Binds a request to what it would touch: the action, the target, its uid, the alert."""
    digest = hashlib.sha256()
    for part in (action, target or "", uid or "", _encode(alert).decode()):
        digest.update(part.encode("utf-8", "replace") + b"\x1f")
    return digest.hexdigest()


def hhmm(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%H:%M UTC")


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat(timespec="seconds") \
        .replace("+00:00", "Z")


def decided_by(decision: Decision) -> str:
    """``U024BE7LH (slack) at 10:21 UTC``, ``cli:alice (cli) at ...``, ``the timeout at ...``."""
    if decision.via == "timeout":
        return f"the timeout at {hhmm(decision.at)}"
    return f"{decision.by} ({decision.via}) at {hhmm(decision.at)}"


def save_request(store: Any, request: Request) -> None:
    store.put(REQ + request.id, _encode(request), _ttl(request))


def load_request(store: Any, approval_id: str) -> Request | None:
    raw = store.get(REQ + approval_id) if is_id(approval_id) else None
    return msgspec.json.decode(raw, type=Request) if raw else None


def put_decision(store: Any, request: Request, decision: Decision) -> Decision | None:
    """None when ``decision`` won; else the decision made first."""
    raw = store.put_new(DEC + request.id, _encode(decision), _ttl(request))
    return None if raw is None else msgspec.json.decode(raw, type=Decision)


def load_decision(store: Any, approval_id: str) -> Decision | None:
    raw = store.get(DEC + approval_id)
    return msgspec.json.decode(raw, type=Decision) if raw else None


def save_result(store: Any, request: Request, result: Result) -> None:
    store.put(RES + request.id, _encode(result), _ttl(request))


def load_result(store: Any, approval_id: str) -> Result | None:
    raw = store.get(RES + approval_id)
    return msgspec.json.decode(raw, type=Result) if raw else None


def claim_run(store: Any, request: Request) -> bool:
    """Once per approval, ever: a run that crashed half-way is not retried (fail closed)."""
    return bool(store.claim(RUN + request.id, _ttl(request)))


class Listing(msgspec.Struct, frozen=True):
    request: Request
    decision: Optional[Decision]
    result: Optional[Result]

    @property
    def state(self) -> str:
        if self.result is not None:
            return "done"
        if self.decision is not None:
            return "decided"
        return "expired" if time.time() >= self.request.expires_at else "pending"


def listing(store: Any) -> list[Listing]:
    """Every approval the store holds, oldest first (three scans)."""
    decisions = {k[len(DEC):]: msgspec.json.decode(v, type=Decision)
                 for k, v in store.scan(DEC)}
    results = {k[len(RES):]: msgspec.json.decode(v, type=Result) for k, v in store.scan(RES)}
    found = [msgspec.json.decode(v, type=Request) for _, v in store.scan(REQ)]
    return [Listing(r, decisions.get(r.id), results.get(r.id))
            for r in sorted(found, key=lambda r: r.created)]


def _ttl(request: Request) -> float:
    return max(request.expires_at - time.time(), 0.0) + KEEP_AFTER
