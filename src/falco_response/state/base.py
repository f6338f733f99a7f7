"""The state store's contract: what the engine's runners need to remember between alerts.

A store is shared by every process (or Lambda instance) that handles the same alerts, so each
operation is atomic on the backend, never read-then-write in Python. Today it holds *claims*
(idempotency: a redelivered message must not act twice; cooldowns; blast-radius slots, see
``safety.py``), *counters* (alerts suppressed by a cooldown) and the *audit trail*. Each
operation is one backend request; keys are plain strings that callers namespace
(``"idem:fn:uuid"``, ``"cooldown:..."``, ``"limit:destructive:3"``), and small *values*
(``put``/``put_new``/``get``/``scan``: pending approvals, their decisions and results). It also holds
the *containment switch* (``containment.py``): pauses that never expire, one per scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ..audit import AuditRecord
    from .pause import Pause


class StoreError(Exception):
    """The store could not be reached or answered something unexpected (not "already claimed")."""


class NoSuchStore(StoreError):
    """A read-only open found nothing at the URL (a typo must not create a store)."""


@runtime_checkable
class StateStore(Protocol):
    """A shared key store with expiry. Implementations must be safe to call from many threads."""

    url: str
    """Where the store lives, without secrets (for logs and ``--help`` output)."""

    def claim(self, key: str, ttl_seconds: float) -> bool:
        """Atomically take ``key`` for ``ttl_seconds``.

        True only for the first caller while an earlier claim is alive; an expired claim can be
        taken again. Raises :class:`StoreError` when the backend fails.
        """
        ...

    def held(self, key: str) -> bool:
        """True while a claim on ``key`` is alive. A read: it writes nothing (dry runs use it
        to say what a live run would meet). Raises :class:`StoreError` when the backend fails."""
        ...

    def release(self, key: str) -> None:
        """Drop a claim (the work it guarded failed, so a retry must be allowed). Idempotent."""
        ...

    def incr(self, key: str, ttl_seconds: float) -> int:
        """Add one to the counter ``key`` and return its new value. The counter expires
        ``ttl_seconds`` after its last increment (then it counts from zero again)."""
        ...

    def take(self, key: str) -> int:
        """Return the counter ``key`` (0 when absent or expired) and delete it, atomically."""
        ...

    def record(self, records: Sequence[AuditRecord], ttl_seconds: float) -> None:
        """Append audit records, kept for ``ttl_seconds``."""
        ...

    def history(self, since_ns: int) -> list[AuditRecord]:
        """The audit records made at or after ``since_ns`` (epoch nanoseconds), oldest first."""
        ...

    def put(self, key: str, value: bytes, ttl_seconds: float) -> None:
        """Store ``value`` under ``key`` for ``ttl_seconds``, replacing what was there.

        Values are opaque bytes (pending approvals and their results, see ``approval/``),
        at most a few KiB each."""
        ...

    def put_new(self, key: str, value: bytes, ttl_seconds: float) -> bytes | None:
        """Atomically store ``value`` unless a live value is there: None when stored, else the
        value that was there (and stays). The first of many concurrent callers wins; an
        expired value is replaced like an absent one."""
        ...

    def get(self, key: str) -> bytes | None:
        """The live value under ``key``, or None."""
        ...

    def scan(self, prefix: str) -> list[tuple[str, bytes]]:
        """Every live ``(key, value)`` whose key starts with ``prefix``, in key order. For
        small sets (pending approvals), never for the hot path."""
        ...

    def pauses(self) -> dict[str, Pause]:
        """The containment switch: every pause in force, by scope (``*`` or an action type).
        Read with the backend's strongest consistency: a pause must reach every replica.
        Raises :class:`StoreError` when the backend fails (destructive actions then fail
        closed)."""
        ...

    def set_pause(self, scope: str, pause: Pause | None) -> None:
        """Set the pause for ``scope`` (replacing one in force), or lift it with None. Kept
        until lifted (no expiry). Raises :class:`StoreError`."""
        ...

    def close(self) -> None:
        """Free connections; the store is unusable afterwards."""
        ...


class UnavailableStore:
    """Stands in for a store that could not be opened: every call raises :class:`StoreError`
    with the reason (``"cannot open ...: ..."``), so each step that needs the store fails the way a store that broke later
    would (destructive actions fail closed, notifications go on)."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason

    def _fail(self, *args: object) -> Any:
        raise StoreError(self.reason)

    claim = held = release = incr = take = record = history = _fail
    put = put_new = get = scan = _fail
    pauses = set_pause = _fail

    def close(self) -> None:
        pass
