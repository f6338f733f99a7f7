"""The message shows where an earlier collect-evidence action stored the pod's evidence."""

from __future__ import annotations

import json

from slack_support import alert
from falco_response import Outcome, Status, alert_from_dict
from falco_response_slack import message

URI = "s3://forensics/prod/payments/api-7f9/20261201T101010Z-5f5a7c1e.tar.gz"


def evidence(status: Status = Status.OK, uri: str = URI) -> Outcome:
    return Outcome("contain-shells", "collect", "collect-evidence", status, "pod:payments/api-7f9",
                   "evidence collected", {"evidence": {"uri": uri, "size": 48213,
                                                       "sha256": "ab" * 32}})


def test_evidence_block_after_a_collection() -> None:
    body = message.build(alert_from_dict(alert()), "contain-shells", (evidence(),), None)
    texts = json.dumps(body)
    assert "*Evidence collected*" in texts and f"`{URI} (48213 bytes, sha256 abababab" in texts


def test_no_block_without_a_successful_collection() -> None:
    failed = evidence(Status.FAILED)
    body = message.build(alert_from_dict(alert()), "contain-shells", (failed,), None)
    assert "Evidence collected" not in json.dumps(body)


def test_the_uri_cannot_break_out_of_code() -> None:
    body = message.build(alert_from_dict(alert()), "contain-shells",
                         (evidence(uri="file:///ev/`<!channel>`*x*"),), None)
    section = [b for b in body["attachments"][0]["blocks"]
               if "Evidence" in json.dumps(b)][0]["text"]["text"]
    assert "<!channel>" not in section and "&lt;!channel&gt;" in section
