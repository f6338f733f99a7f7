"""A clone of the repository on its own collects the server tests (their samples are in tests/data)."""

from __future__ import annotations

from pathlib import Path

from tests.fresh_clone import collect_in_a_lone_clone


def test_the_server_tests_collect_in_a_clone_with_no_siblings(tmp_path: Path) -> None:
    out = collect_in_a_lone_clone(tmp_path, "tests/server")
    assert "test_the_sample_falco_alerts_are_accepted" in out
