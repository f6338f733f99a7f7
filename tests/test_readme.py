"""The README never lies: its two quick-start commands are the ones CI and tox run."""

from __future__ import annotations

import re

from .conftest import ROOT

README = (ROOT / "README.md").read_text()
QUICK_START = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
COMMANDS = re.findall(r"```sh\n(.*?)\n```", QUICK_START, re.S)


def test_quick_start_has_exactly_two_commands() -> None:
    assert len(COMMANDS) == 2
    assert all("\n" not in c for c in COMMANDS)


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == COMMANDS[1]


def test_demo_env_runs_the_readme_main_command() -> None:
    main = COMMANDS[0].split("&& .venv/bin/", 2)[-1]
    tox = (ROOT / "tox.ini").read_text()
    demo = tox.split("[testenv:demo]", 1)[1].split("\n[", 1)[0]
    assert f"commands = {main}" in demo
