"""``falco-response new-plugin`` and plugins/_template: the plugin tutorial's block
(docs/tutorials/plugin.md) runs as written in a fresh virtual environment, so the generated
distribution is built by pip, loaded by entry point, and its own tests pass."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from falco_response.cli import main

from .docs_blocks import ROOT, block

TEMPLATE = ROOT / "plugins" / "_template"


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv that sees this environment's packages (the core, pytest) through a .pth
    file, with ``falco-response`` and ``pytest`` commands that run its own interpreter."""
    venv = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; "
                              "print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    parent = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    parent |= {p for p in sys.path if p.endswith("site-packages")}
    # site.addsitedir also runs the .pth files there (an editable install's finder).
    (Path(purelib) / "parent-env.pth").write_text("".join(
        f"import site; site.addsitedir({path!r})\n" for path in sorted(parent)))
    for name, module in (("falco-response", "falco_response"), ("pytest", "pytest")):
        script = venv / "bin" / name
        script.write_text(f'#!/bin/sh\nexec "{python}" -m {module} "$@"\n')
        script.chmod(0o755)
    return venv


def test_the_plugin_tutorial_block_runs_in_a_fresh_venv(fresh_venv: Path,
                                                         tmp_path: Path) -> None:
    code = block("tutorials/plugin.md", "sh").replace("/tmp/plugins", str(tmp_path))
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(PATH=f"{fresh_venv / 'bin'}:{env['PATH']}", VIRTUAL_ENV=str(fresh_venv),
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("FALCO_RESPONSE_DISABLE_PLUGINS", None)
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", code], cwd=ROOT, env=env,
                          text=True, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 passed" in done.stdout
    assert "open-ticket" in done.stdout.splitlines()[-1]
    made = tmp_path / "falco-response-open-ticket"
    assert (made / "src" / "falco_response_open_ticket" / "__init__.py").is_file()
    assert not list(made.rglob("*__NAME__*")) and not list(made.rglob("*__MODULE__*"))
    for path in made.rglob("*"):
        if path.is_file() and "egg-info" not in str(path):
            text = path.read_text()
            assert "__NAME__" not in text and "__MODULE__" not in text, path


def test_new_plugin_refuses_bad_names_and_existing_directories(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new-plugin", "Bad_Name", "--dir", str(tmp_path)]) == 2
    assert "is not a valid name" in capsys.readouterr().err
    assert main(["new-plugin", "x; rm -rf /", "--dir", str(tmp_path)]) == 2
    assert main(["new-plugin", "ticket", "--dir", str(tmp_path),
                 "--template", str(TEMPLATE)]) == 0
    pyproject = (tmp_path / "falco-response-ticket" / "pyproject.toml").read_text()
    # once as the plugin, once as the action type it declares (falco_response.actions)
    assert pyproject.count('ticket = "falco_response_ticket"') == 2
    assert '[project.entry-points."falco_response.actions"]' in pyproject
    assert main(["new-plugin", "ticket", "--dir", str(tmp_path),
                 "--template", str(TEMPLATE)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["new-plugin", "ticket", "--dir", str(tmp_path),
                 "--template", str(tmp_path / "nowhere")]) == 2
    assert "plugin template not found" in capsys.readouterr().err
