"""A clone of the repository on its own collects the AWS tests (their samples are in tests/data)."""

from __future__ import annotations

from pathlib import Path

from ..fresh_clone import collect_in_a_lone_clone


def test_the_aws_tests_collect_in_a_clone_with_no_siblings(tmp_path: Path) -> None:
    out = collect_in_a_lone_clone(tmp_path, "tests/aws")
    assert "test_every_alert_the_engine_acts_on_is_delivered" in out
