"""``falco-response new-plugin`` works from an installed wheel: the template is package data,
not a file of a checkout. tox installs the core as a wheel, so this runs the installed copy
from a directory outside any checkout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import falco_response
from falco_response.cli import new_plugin

from .conftest import ROOT


def test_the_template_ships_inside_the_package() -> None:
    package = Path(falco_response.__file__).resolve().parent
    assert (package / "plugin_template" / "pyproject.toml").is_file()
    assert new_plugin.find_template(None) == new_plugin.TEMPLATE
    if not package.is_relative_to(ROOT):  # an installed wheel, as in tox
        assert not new_plugin.TEMPLATE.resolve().is_relative_to(ROOT)


def test_new_plugin_runs_from_outside_a_checkout(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "falco_response", "new-plugin", "open-ticket",
                           "--dir", str(tmp_path)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    made = tmp_path / "falco-response-open-ticket"
    init = made / "src" / "falco_response_open_ticket" / "__init__.py"
    assert init.is_file() and "open-ticket" in (made / "pyproject.toml").read_text()
    assert not list(made.rglob("__pycache__")) and not list(made.rglob("*__MODULE__*"))
    compile(init.read_text(), str(init), "exec")
