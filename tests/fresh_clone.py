"""Collect a test directory in a clone of the repository that has no sibling folders: the
proof that no test reads outside the repository (a fresh clone is all CI and a new user have)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def lone_clone(tmp_path: Path) -> Path:
    """``tmp_path/alone``: a clone of the committed repository with no sibling folders."""
    git = shutil.which("git")
    assert git, "git is needed to clone the repository"
    clone = tmp_path / "alone"
    subprocess.run([git, "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)],
                   check=True, capture_output=True, timeout=120)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alone"]
    return clone


def collect_in_a_lone_clone(tmp_path: Path, *args: str) -> str:
    """``pytest --collect-only`` of ``args`` in ``tmp_path/alone``, a clone of the committed
    repository; returns pytest's output, failing on any non-zero exit."""
    clone = lone_clone(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         *args], cwd=clone, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return proc.stdout
