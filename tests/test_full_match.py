"""Validation regexes match the whole string: ``$`` also matches before a final newline, so
``"ticket\\n"`` or ``"10s\\n"`` once passed checks meant to refuse them."""

from __future__ import annotations

from pathlib import Path

import pytest

from falco_response.cli import main
from falco_response.schema import parse_duration


@pytest.mark.parametrize("name", ["ticket\n", "\nticket", "ticket\r", "ticket "])
def test_new_plugin_refuses_a_name_with_a_newline(tmp_path: Path, name: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new-plugin", name, "--dir", str(tmp_path)]) == 2
    assert "is not a valid name" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_durations_still_allow_surrounding_spaces_only() -> None:
    assert parse_duration(" 10s ") == 10.0 and parse_duration("10s\n") == 10.0
    for bad in ("10s\nx", "10 s s", "10sx"):
        with pytest.raises(ValueError):
            parse_duration(bad)
