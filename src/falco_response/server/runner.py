"""What runs the actions of queued alerts, and what both ways of running them share.

A :class:`Runner` takes rows from the durable queue, has the engine handle their alerts and
reports each finished row to one :class:`Reporter`: :class:`~.workers.Workers` (threads in
the intake process) and :class:`~.action_process.ActionProcess` (threads in a child
process). The reporter is the one place a finished row is counted in the metrics, acknowledged,
or (when handling it raised, or the child died holding it) retried and in the end
dead-lettered; :func:`drain` is the one shutdown both follow.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from . import queued
from .tally import Tally

if TYPE_CHECKING:  # the action process imports this module and needs none of these
    from ..engine import Engine
    from ..outcome import Result
    from .dead_letters import RetryPolicy
    from .metrics import Metrics
    from .queue import DurableQueue, Item


class Runner(Protocol):
    """What the receiver needs of whatever runs the actions."""

    def start(self) -> None: ...

    @property
    def alive(self) -> bool: ...

    @property
    def busy(self) -> int: ...

    def drain(self, timeout: float) -> bool: ...


def handle_row(engine: Engine, body: bytes) -> list[Result]:
    """Handle the alerts of one queue row (see :mod:`.queued`)."""
    return engine.handle_alerts(queued.decode(body, engine.plugins))


class Reporter:
    """The one callback of both runners: a row finished (``handled``) or its handling
    raised (``error``)."""

    def __init__(self, queue: DurableQueue, *, log: Any, metrics: Metrics | None = None,
                 retry: RetryPolicy | None = None) -> None:
        from .dead_letters import RetryPolicy

        self.queue = queue
        self.log = log
        self.metrics = metrics
        self.retry = retry or RetryPolicy()

    def finished(self, rows: Sequence[tuple[Item, str | None]], tally: Tally) -> None:
        """Rows finished: acknowledge each whatever its outcomes (failed actions are
        outcomes, not a reason to run every action of the alert again) and count ``tally``
        (what the rows without an error handled); only an error (handling raised) leaves a
        row unacknowledged, to be tried again and in the end dead-lettered."""
        done = []
        for item, error in rows:
            if error is None:
                done.append(item.id)
            else:
                self.failed(item, error[:300])
        if self.metrics is not None:
            try:
                self.metrics.record(tally)
            except (TypeError, ValueError) as exc:  # a count lost, never an ack
                self.log.error("bad outcome report", error=str(exc)[:200])
        if done:
            self.queue.ack_many(done)

    def failed(self, item: Item, error: str) -> None:
        """Try ``item`` again after a backoff or, at its last try, dead-letter it."""
        again = self.dead_letter_if_done(item, error)
        if again is None:
            return
        delay = self.retry.delay(again.attempts)
        self.log.warning("handling an alert failed; trying it again", item=again.id,
                         attempt=again.attempts, of=self.retry.max_attempts, retry_in=delay,
                         error=error)
        if self.metrics is not None:
            self.metrics.retries.inc()
        self.queue.retry(again, delay)

    def dead_letter_if_done(self, item: Item, error: str) -> Item | None:
        """Count a failed try of ``item``; at its last try move it to the dead-letter table
        (None). Else ``item`` with the try counted, for the caller to queue again."""
        item = replace(item, attempts=item.attempts + 1)
        if item.attempts >= self.retry.max_attempts:
            if self.queue.dead_letter(item, error):
                self.log.error("alert moved to the dead-letter table", item=item.id,
                               attempts=item.attempts, error=error)
                if self.metrics is not None:
                    self.metrics.dead_lettered.inc()
                return None
            self.log.error("could not write the dead letter; the alert stays queued",
                           item=item.id)
        return item


def drain(queue: DurableQueue, timeout: float, *, busy: Callable[[], int],
          alive: Callable[[], bool], stop: Callable[[float], None], log: Any) -> bool:
    """Stop intake, let the runner finish what is queued and in progress (up to ``timeout``
    seconds), ``stop`` it (given the time left), then flush the queue; what is left stays on
    disk for the next start. True when nothing was left over."""
    queue.close_intake()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (queue.ready or busy()) and alive():
        time.sleep(0.02)
    drained = not (queue.ready or busy())
    stop(max(0.0, deadline - time.monotonic()))
    left = queue.ready + busy()
    queue.stop()
    if not drained:
        log.warning("drain timed out; unfinished alerts stay queued for the next start",
                    left=left)
    return drained
