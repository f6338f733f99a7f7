"""What the metrics count of a batch of handled alerts, in a form that crosses processes.

A runner counts the alerts it finished into a :class:`Tally` and reports it with the rows
(:class:`~.runner.Reporter`); :meth:`~.metrics.Metrics.record` adds it to the counters. The
action process sends one with each frame of finished rows (msgpack), so intake counts a batch
with a few increments. This module imports nothing from the server: the action process, which
loads neither prometheus-client nor the queue, builds tallies too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from ..outcome import Result


class Tally(msgspec.Struct, array_like=True):
    """What the metrics count of the alerts handled in a batch: alerts by source, matches by
    response, outcomes by action and status, and each outcome's seconds by action. The action
    process sends one with each frame, so intake counts a batch with a few increments rather
    than four metric updates per alert (together about 3 microseconds of intake's interpreter
    for every alert)."""

    handled: dict[str, int] = msgspec.field(default_factory=dict)
    matched: dict[str, int] = msgspec.field(default_factory=dict)
    outcomes: dict[str, dict[str, int]] = msgspec.field(default_factory=dict)
    seconds: dict[str, list[float]] = msgspec.field(default_factory=dict)

    def add(self, results: Sequence[Result]) -> Tally:
        """Count ``results`` (those with an alert) in; this tally."""
        for result in results:
            if result.alert is not None:
                self.add_one(result.alert.source, [
                    (o.response, o.action, o.status.value, o.duration_ms / 1000.0)
                    for o in result.outcomes])
        return self

    def add_one(self, source: str, outcomes: Sequence[tuple[str, str, str, float]]) -> None:
        """One handled alert: its source and each outcome as ``(response, action, status,
        seconds)``."""
        self.handled[source] = self.handled.get(source, 0) + 1
        seen: set[str] = set()
        for response, action, status, seconds in outcomes:
            if response not in seen:
                seen.add(response)
                self.matched[response] = self.matched.get(response, 0) + 1
            statuses = self.outcomes.setdefault(action, {})
            statuses[status] = statuses.get(status, 0) + 1
            self.seconds.setdefault(action, []).append(seconds)
