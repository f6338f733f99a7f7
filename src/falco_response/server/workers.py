"""Worker threads: take alerts from the durable queue, run the engine, acknowledge.

Actions block (HTTP calls to Slack, the API server), so they run in threads, never on the
event loop that accepts alerts: a slow action delays other alerts' actions, not intake.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from .dead_letters import RetryPolicy
from .queue import DurableQueue, Item

if TYPE_CHECKING:
    from .metrics import Metrics


def handling_failed(queue: DurableQueue, item: Item, error: str, *, retry: RetryPolicy,
                    log: Any, metrics: Metrics | None) -> None:
    """Handling ``item`` raised: never acknowledge it. Try it again after a backoff, or,
    once it has had ``retry.max_attempts`` tries, move it to the dead-letter table."""
    item = replace(item, attempts=item.attempts + 1)
    if item.attempts >= retry.max_attempts:
        if queue.dead_letter(item, error):
            log.error("alert moved to the dead-letter table", item=item.id,
                      attempts=item.attempts, error=error)
            if metrics is not None:
                metrics.dead_lettered.inc()
            return
        log.error("could not write the dead letter; the alert stays queued", item=item.id)
    delay = retry.delay(item.attempts)
    log.warning("handling an alert failed; trying it again", item=item.id,
                attempt=item.attempts, of=retry.max_attempts, retry_in=delay, error=error)
    if metrics is not None:
        metrics.retries.inc()
    queue.retry(item, delay)


class Pool(Protocol):
    """What the receiver needs of whatever runs the actions: :class:`Workers` (threads in
    this process) or :class:`~.action_process.ActionProcess` (a child process)."""

    def start(self) -> None: ...

    @property
    def alive(self) -> bool: ...

    @property
    def busy(self) -> int: ...

    def drain(self, timeout: float) -> bool: ...


class Workers:
    """``count`` threads that run ``handle(body)`` for each queued item, then ack it.

    An item is acknowledged whatever its outcomes: failed actions are outcomes (logged and
    counted), not a reason to run every action of the alert again. Only when ``handle``
    raises is it left unacknowledged, retried and in the end dead-lettered
    (:func:`handling_failed`).
    """

    def __init__(self, queue: DurableQueue, handle: Callable[[bytes], Any], *, count: int,
                 log: Any, retry: RetryPolicy | None = None,
                 metrics: Metrics | None = None) -> None:
        if count < 1:
            raise ValueError("at least one worker is needed")
        self.queue = queue
        self.handle = handle
        self.count = count
        self.log = log
        self.retry = retry or RetryPolicy()
        self.metrics = metrics
        self._stop = threading.Event()
        self._busy = 0
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, name=f"worker-{i}", daemon=True)
                         for i in range(count)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    @property
    def alive(self) -> bool:
        return all(t.is_alive() for t in self._threads) and not self._stop.is_set()

    @property
    def busy(self) -> int:
        with self._lock:
            return self._busy

    def _run(self) -> None:
        while not self._stop.is_set():
            item = self.queue.take(timeout=0.5)
            if item is None:
                continue
            with self._lock:
                self._busy += 1
            try:
                self.handle(item.body)
            except Exception as exc:  # the engine returns failures as values; belt and braces
                handling_failed(self.queue, item, f"{type(exc).__name__}: {exc}"[:300],
                                retry=self.retry, log=self.log, metrics=self.metrics)
            else:
                self.queue.ack(item.id)
            finally:
                with self._lock:
                    self._busy -= 1

    def drain(self, timeout: float) -> bool:
        """Stop intake, finish what is queued and in progress (up to ``timeout`` seconds),
        then stop the threads and flush the queue. True when nothing was left over; what is
        left stays on disk for the next start."""
        self.queue.close_intake()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (self.queue.ready or self.busy):
            time.sleep(0.02)
        drained = not (self.queue.ready or self.busy)
        self._stop.set()
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        left = self.queue.ready + self.busy
        self.queue.stop()
        if not drained:
            self.log.warning("drain timed out; unfinished alerts stay queued for the next start",
                             left=left)
        return drained
