"""What the runners report to the metrics: a Tally of a batch counts what counting each alert
on its own would, and travels in the action process's frames (msgpack) unchanged."""

from __future__ import annotations

import msgspec
from prometheus_client import generate_latest

from falco_response.outcome import Outcome, Result, Status
from falco_response.parsing import alert_from_dict
from falco_response.server.metrics import Metrics
from falco_response.server.tally import Tally


def result(source: str, *outcomes: tuple[str, str, Status, float]) -> Result:
    alert = alert_from_dict({"rule": "r", "priority": "Critical", "source": source,
                             "output": "o", "time": "2026-11-26T20:00:00Z"})
    return Result(alert, [Outcome(response, action, action, status, duration_ms=ms)
                          for response, action, status, ms in outcomes])


RESULTS = [
    result("syscall", ("shells", "notify", Status.OK, 12.0), ("shells", "kill", Status.FAILED, 300.0)),
    result("syscall", ("shells", "notify", Status.OK, 4.0)),
    result("k8s_audit", ("audit", "notify", Status.DRY_RUN, 1.0), ("shells", "notify", Status.OK, 2.0)),
    result("made-up-source"),  # handled, nothing matched
    Result(None, error="bad json"),  # no alert: not counted as handled
]


def test_a_tally_counts_a_batch() -> None:
    tally = Tally().add(RESULTS)
    assert tally.handled == {"syscall": 2, "k8s_audit": 1, "made-up-source": 1}
    assert tally.matched == {"shells": 3, "audit": 1}
    assert tally.outcomes == {"notify": {"ok": 3, "dry_run": 1}, "kill": {"failed": 1}}
    assert sorted(tally.seconds["notify"]) == [0.001, 0.002, 0.004, 0.012]
    assert tally.seconds["kill"] == [0.3]


def test_one_record_of_a_batch_equals_a_record_per_alert() -> None:
    batch, each = Metrics(), Metrics()
    wire = msgspec.msgpack.encode(Tally().add(RESULTS))  # as the action process sends it
    batch.record(msgspec.msgpack.decode(wire, type=Tally))
    for one in RESULTS:
        if one.alert is not None:
            each.record_handled(one.alert.source, [
                (o.response, o.action, o.status.value, o.duration_ms / 1000.0)
                for o in one.outcomes])

    def samples(metrics: Metrics) -> list[str]:
        return sorted(line for line in generate_latest(metrics.registry).decode().splitlines()
                      if line and not line.startswith("#") and "_created" not in line)

    assert samples(batch) == samples(each)
    text = "\n".join(samples(batch))
    assert 'falco_response_alerts_handled_total{source="other"} 1.0' in text  # bounded label
    assert 'falco_response_action_outcomes_total{action="notify",status="ok"} 3.0' in text
    assert 'falco_response_action_duration_seconds_count{action="notify"} 4.0' in text
    assert 'falco_response_action_duration_seconds_bucket{action="kill",le="0.25"} 0.0' in text
