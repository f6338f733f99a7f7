"""The containment switch: a person pauses destructive actions, everywhere, at once.

A *pause* lives in the state store under a *scope*: ``*`` (every destructive action type) or
one action type (``delete-pod``). Every engine sharing the store reads the switch before a
destructive action, through :class:`Switch`, which keeps what it read for
:data:`CACHE_SECONDS` (so a storm of alerts costs one store read every two seconds, and a
pause reaches every replica and Lambda instance within that time). While paused, the action
is ``skipped`` with "containment paused by NAME at TIME: REASON"; notifications still run.

A store that cannot be read makes destructive actions fail closed, as every store failure
does. Set it with ``falco-response pause|resume`` or the operator console.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from .state.pause import ALL, Pause, decode, encode

__all__ = ["ALL", "CACHE_SECONDS", "Pause", "Switch", "applicable", "decode", "encode", "pause",
           "resume", "target_of"]

CACHE_SECONDS = 2.0


def pause(store: Any, scope: str, *, by: str, reason: str) -> Pause:
    """Pause ``scope`` (``*`` or an action type); raises ``ValueError`` for an empty reason or
    name, :class:`~falco_response.state.StoreError` when the store fails."""
    scope = scope.strip() or ALL
    if not reason.strip():
        raise ValueError("a pause needs a reason (the on-call engineer after you reads it)")
    if not by.strip():
        raise ValueError("a pause needs the name of who paused")
    entry = Pause(scope=scope, by=by.strip()[:200], reason=reason.strip()[:500],
                  time_ns=time.time_ns())
    store.set_pause(scope, entry)
    return entry


def resume(store: Any, scope: str) -> None:
    store.set_pause(scope.strip() or ALL, None)


def applicable(pauses: dict[str, Pause], action_type: str) -> Pause | None:
    """The pause that stops ``action_type``: the global one first, else its own."""
    return pauses.get(ALL) or pauses.get(action_type)


def target_of(alert: Any, scope: str) -> str | None:
    """What a paused action would have acted on, as far as the alert names it."""
    if scope == "node":
        node = alert.node_name
        return f"node:{node}" if node else None
    namespace, name = alert.pod_namespace, alert.pod_name
    return f"pod:{namespace}/{name}" if namespace and name else None


class Switch:
    """The engine's view of the switch, read at most every ``ttl`` seconds. Thread-safe.
    ``store`` is the store, or a callable returning it (the engine's, which it may reopen)."""

    def __init__(self, store: Any, *, ttl: float = CACHE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._read_at = -1e18
        self._pauses: dict[str, Pause] = {}
        self._error: str | None = None

    def check(self, action_type: str) -> tuple[Pause | None, str | None]:
        """(the pause that applies, or None; the store's error, or None)."""
        now = self._clock()
        if now - self._read_at >= self._ttl:
            with self._lock:
                if now - self._read_at >= self._ttl:
                    try:
                        store = self._store() if callable(self._store) else self._store
                        self._pauses, self._error = dict(store.pauses()), None
                        self._read_at = now
                    except Exception as exc:  # not cached: the next action reads again
                        from .state import StoreError

                        self._pauses = {}
                        self._error = (str(exc) if isinstance(exc, StoreError)
                                       else f"{type(exc).__name__}: {exc}")[:300]
        if self._error is not None:
            return None, self._error
        return applicable(self._pauses, action_type), None
