"""A clone of the repository on its own collects the core tests: test data lives in tests/data."""

from __future__ import annotations

from pathlib import Path

from .fresh_clone import collect_in_a_lone_clone


def test_the_core_tests_collect_in_a_clone_with_no_siblings(tmp_path: Path) -> None:
    out = collect_in_a_lone_clone(tmp_path, "tests", "--ignore=tests/aws", "--ignore=tests/server",
                                  "--ignore=tests/redis", "--ignore=tests/nats",
                                  "--ignore=tests/approval", "--ignore=tests/console")
    assert "test_every_rule_parses_and_matches_by_name" in out
    assert "test_every_lambda_sample_gives_its_alerts" in out
