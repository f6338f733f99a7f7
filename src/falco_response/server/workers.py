"""Worker threads: take alerts from the durable queue, run the engine, acknowledge.

Actions block (HTTP calls to Slack, the API server), so they run in threads, never on the
event loop that accepts alerts: a slow action delays other alerts' actions, not intake.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from .queue import DurableQueue


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
    counted), not a reason to run every action of the alert again.
    """

    def __init__(self, queue: DurableQueue, handle: Callable[[bytes], Any], *, count: int,
                 log: Any) -> None:
        if count < 1:
            raise ValueError("at least one worker is needed")
        self.queue = queue
        self.handle = handle
        self.count = count
        self.log = log
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
                self.log.error("worker failed on an alert", item=item.id,
                               error=f"{type(exc).__name__}: {exc}"[:300])
            finally:
                self.queue.ack(item.id)
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
