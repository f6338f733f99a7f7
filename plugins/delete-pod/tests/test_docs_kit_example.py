"""docs/writing-plugins.md shows the test kit's Kubernetes cluster with delete-pod: its block
runs here as written, against the kit's fixtures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[3] / "docs" / "writing-plugins.md"


def _example() -> dict[str, object]:
    [block] = [b for b in re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)
               if "falco_response_testing.kubernetes" in b]
    scope: dict[str, object] = {"__name__": "writing_plugins_example"}
    exec(compile(block, str(PAGE), "exec"), scope)
    return scope


TESTS = sorted(name for name in _example() if name.startswith("test_"))


def test_the_page_shows_two_kit_tests() -> None:
    assert TESTS == ["test_an_api_server_that_never_answers_is_a_failed_outcome",
                     "test_deletes_the_pod_the_alert_names"]


@pytest.mark.parametrize("name", TESTS)
def test_the_pages_kit_example_passes(name, cluster, engine_for):
    _example()[name](cluster, engine_for)
