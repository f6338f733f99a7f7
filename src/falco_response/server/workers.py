"""Worker threads: take rows from the durable queue, have the engine handle their alerts,
report each finished row (:class:`~.runner.Reporter`).

Actions block (HTTP calls to Slack, the API server), so they run in threads, never on the
event loop that accepts alerts: a slow action delays other alerts' actions, not intake.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from .queue import DurableQueue
from .runner import Reporter, Runner, drain, handle_row
from .tally import Tally

if TYPE_CHECKING:
    from ..engine import Engine

Pool = Runner
"""The name this protocol had before :mod:`.runner`."""


class Workers:
    """``count`` threads of this process that handle each queued row with ``engine`` and
    report it to ``reporter`` (which acknowledges it, or retries it when handling raised).
    """

    def __init__(self, queue: DurableQueue, engine: Engine, reporter: Reporter, *,
                 count: int) -> None:
        if count < 1:
            raise ValueError("at least one worker is needed")
        self.queue = queue
        self.engine = engine
        self.reporter = reporter
        self.count = count
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
                try:
                    tally = Tally().add(handle_row(self.engine, item.body))
                except Exception as exc:  # the engine returns failures as values; belt and braces
                    self.reporter.finished([(item, f"{type(exc).__name__}: {exc}")], Tally())
                else:
                    self.reporter.finished([(item, None)], tally)
            finally:
                with self._lock:
                    self._busy -= 1

    def drain(self, timeout: float) -> bool:
        """See :func:`.runner.drain`."""
        return drain(self.queue, timeout, busy=lambda: self.busy, alive=lambda: True,
                     stop=self._join, log=self.reporter.log)

    def _join(self, timeout: float) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
