"""A fuzz run through Engine.handle: 10,000 mutated samples, zero crashes, every rejection
with a reason. (The Lambda handler and the HTTP receiver have their own runs in tests/aws and
tests/server, using the same generator.)"""

from __future__ import annotations

from collections import Counter

from .conftest import build
from .fuzzing import mutated_payloads

CONFIG = {"version": 1, "responses": [
    {"name": "everything", "actions": [{"type": "log"}]},
    {"name": "shells", "match": {"rule": "Terminal*", "fields": {"proc.name": {"regex": "sh"}}},
     "actions": [{"type": "log", "with": {"level": "error"}}]},
]}


def test_ten_thousand_mutated_payloads_through_handle() -> None:
    engine = build(CONFIG, dry_run=True)
    outcomes: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for payload in mutated_payloads(10_000):
        results = engine.handle(payload)
        assert results, payload
        for result in results:
            if result.alert is None:
                assert result.error and len(result.error) < 600
                reasons[result.error.split(":")[0]] += 1
                outcomes["rejected"] += 1
            else:
                assert result.error is None
                outcomes["alert"] += 1
    assert outcomes["alert"] > 1000 and outcomes["rejected"] > 1000, outcomes
    assert len(reasons) > 5, reasons
