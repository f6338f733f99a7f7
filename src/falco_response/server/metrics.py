"""Prometheus metrics, fed by the engine's ``alert_handled`` hook and by intake.

Every label has a bounded set of values: alert sources outside a known list count as
``other``; responses and actions come from the config; reject reasons and statuses are fixed.
Pod names, rules and other alert text never become labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ..hookspecs import hookimpl
from .tally import Tally

if TYPE_CHECKING:
    from ..alert import Alert
    from ..outcome import Outcome

KNOWN_SOURCES = frozenset({
    "syscall", "k8s_audit", "aws_cloudtrail", "gcp_auditlog", "okta", "github", "docker",
    "k8saudit-eks", "k8saudit-gke", "k8saudit-aks", "journal", "internal", "falcosidekick",
})
REJECT_REASONS = ("bad_json", "not_alert", "too_large", "content_type", "unauthenticated",
                  "forbidden", "queue_full", "shutting_down", "bad_signature", "unknown_topic",
                  "duplicate_header", "disk_full", "queue_error", "header_limit",
                  "too_many_connections")


def source_label(source: str) -> str:
    return source if source in KNOWN_SOURCES else "other"


class Metrics:
    """The server's metrics in their own registry (one per app, so tests can build many)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.received = Counter("falco_response_alerts_received", "Alerts accepted and queued, "
                                "by alert source", ["source"], registry=r)
        self.rejected = Counter("falco_response_alerts_rejected", "Requests refused, by reason",
                                ["reason"], registry=r)
        for reason in REJECT_REASONS:
            self.rejected.labels(reason)
        self.handled = Counter("falco_response_alerts_handled", "Alerts whose actions ran, by "
                               "alert source", ["source"], registry=r)
        self.matched = Counter("falco_response_responses_matched", "Responses that matched an "
                               "alert", ["response"], registry=r)
        self.outcomes = Counter("falco_response_action_outcomes", "Action outcomes, by action "
                                "and status", ["action", "status"], registry=r)
        self.duration = Histogram("falco_response_action_duration_seconds", "Time an action "
                                  "took", ["action"], registry=r,
                                  buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))
        self._received: dict[str, Counter] = {}
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.queue_depth = Gauge("falco_response_queue_depth", "Alerts accepted and not yet "
                                 "finished", registry=r)
        self.retries = Counter("falco_response_alert_retries", "Alerts tried again because "
                               "handling them raised", registry=r)
        self.dead_lettered = Counter("falco_response_alerts_dead_lettered", "Alerts moved to "
                                     "the dead-letter table after their last try", registry=r)
        self.dead_letters = Gauge("falco_response_dead_letters", "Alerts in the queue file's "
                                  "dead-letter table (see falco-response dead-letters)",
                                  registry=r)
        self.disk_full = Gauge("falco_response_queue_disk_full", "1 while the disk under the "
                               "queue is full (intake answers 503)", registry=r)

    def count_received(self, source: str) -> None:
        """Intake's counter, with the labelled child cached (this runs for every alert)."""
        label = source_label(source)
        child = self._received.get(label)
        if child is None:
            child = self._received[label] = self.received.labels(label)
        child.inc()

    def _child(self, metric: Any, *labels: str) -> Any:
        """The labelled child, cached: ``labels()`` costs microseconds on every alert."""
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    @hookimpl
    def alert_handled(self, alert: Alert, outcomes: Sequence[Outcome]) -> None:
        self.record_handled(alert.source, [(o.response, o.action, o.status.value,
                                            o.duration_ms / 1000.0) for o in outcomes])

    def record_handled(self, source: str,
                       outcomes: Sequence[tuple[str, str, str, float]]) -> None:
        """One handled alert: its source and each outcome as ``(response, action, status,
        seconds)``. Called by the hook above."""
        tally = Tally()
        tally.add_one(source, outcomes)
        self.record(tally)

    def record(self, tally: Tally) -> None:
        """The alerts of a batch (see :class:`~.tally.Tally`): what the runners report."""
        child = self._child
        for source, count in tally.handled.items():
            child(self.handled, source_label(source)).inc(count)
        for response, count in tally.matched.items():
            child(self.matched, response).inc(count)
        for action, statuses in tally.outcomes.items():
            for status, count in statuses.items():
                child(self.outcomes, action, status).inc(count)
        for action, seconds in tally.seconds.items():
            observe = child(self.duration, action).observe
            for value in seconds:
                observe(value)
