"""The incident's details carry where an earlier collect-evidence action stored the evidence."""

from __future__ import annotations

from pagerduty_support import ALERT
from falco_response import Outcome, Status, alert_from_dict
from falco_response_pagerduty import event

URI = "file:///evidence/prod/payments/api-7f9/20261201T101010Z-5f5a7c1e.tar.gz"


def outcome(status: Status) -> Outcome:
    return Outcome("contain", "collect", "collect-evidence", status, "pod:payments/api-7f9",
                   "evidence collected", {"evidence": {"uri": URI, "size": 9, "sha256": "cd" * 32}})


def test_evidence_in_the_details() -> None:
    data = event.details(alert_from_dict(ALERT), "contain", [outcome(Status.OK)])
    assert data["evidence"] == [{"target": "pod:payments/api-7f9", "uri": URI, "size": 9,
                                 "sha256": "cd" * 32}]


def test_no_evidence_key_when_collection_failed() -> None:
    data = event.details(alert_from_dict(ALERT), "contain", [outcome(Status.FAILED)])
    assert "evidence" not in data
