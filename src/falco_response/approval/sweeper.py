"""Timeouts, and decisions nobody carried out (a replica that died after the click).

:func:`sweep` runs in one replica at a time: each round, the replica that takes the lease
(``claim("approval:sweeper", interval)`` in the shared store) looks at every open approval.
An expired one gets the ``timeout`` decision (``put_new``: once across replicas, and never
over a person's decision), then runs under its ``on_timeout`` policy; a decided one not yet
carried out is carried out (the run claim keeps that to once). ``serve`` runs
:class:`Sweeper` in a thread; Lambda runs :func:`sweep` from the scheduled invocation.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from . import records
from .execute import decide, execute

if TYPE_CHECKING:
    from ..engine import Engine

DEFAULT_INTERVAL = 10.0
from ..environment import APPROVAL_SWEEP as INTERVAL_ENV


def interval() -> float:
    """``$FALCO_RESPONSE_APPROVAL_SWEEP`` (a duration), else 10 s."""
    import os

    from ..schema import parse_duration

    raw = os.environ.get(INTERVAL_ENV)
    return parse_duration(raw) if raw else DEFAULT_INTERVAL


def sweep(engine: Engine, *, lease_seconds: float | None = None) -> int:
    """One round; returns how many approvals were carried out. With ``lease_seconds``, only
    when this caller takes the lease. Raises StoreError."""
    store = engine.store
    if lease_seconds is not None and not store.claim(records.LEASE, lease_seconds):
        return 0
    done = 0
    now = time.time()
    for item in records.listing(store):
        if item.result is not None:
            continue
        if item.decision is None:
            if now < item.request.expires_at:
                continue
            # Loses to a person who decided meanwhile: then theirs is carried out below.
            decide(store, item.request.id, "timeout", "policy", "timeout",
                   check_approver=False)
        if execute(engine, item.request.id) is not None:
            done += 1
    return done


class Sweeper:
    """``sweep`` every ``interval`` seconds in a daemon thread, until :meth:`stop`."""

    def __init__(self, engine: Engine, interval: float = DEFAULT_INTERVAL) -> None:
        self.engine = engine
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="falco-response-approvals",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                done = sweep(self.engine, lease_seconds=self.interval * 0.9)
                if done:
                    self.engine.log.info("approval sweep", carried_out=done)
            except Exception as exc:
                self.engine.log.error("approval sweep failed", error=f"{type(exc).__name__}: "
                                      f"{exc}"[:300])
