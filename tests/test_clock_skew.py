"""Processes whose clocks disagree by an hour, sharing one SQLite store, never exceed a
blast-radius limit nor act twice inside a cooldown: real separate processes, each with its
wall clock moved before falco_response is imported (tests/clock_skew.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CHILD = Path(__file__).with_name("clock_skew.py")
HOUR = 3600


def run(url: str, skew: float, *pods: str) -> list[dict[str, Any]]:
    done = subprocess.run([sys.executable, str(CHILD), url, str(skew), *pods],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "FALCO_RESPONSE_LOG_LEVEL": "error"})
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def acted(outcomes: list[dict[str, Any]]) -> list[str]:
    return [o["pod"] for o in outcomes if o["status"] == "ok"]


@pytest.mark.parametrize("first, second", [(0, HOUR), (0, -HOUR), (HOUR, 0), (-HOUR, 0),
                                           (HOUR, -HOUR)],
                         ids=["then-ahead", "then-behind", "ahead-first", "behind-first",
                              "ahead-then-behind"])
def test_skewed_processes_share_one_limit_and_one_cooldown(tmp_path: Path, first: float,
                                                          second: float) -> None:
    url = f"sqlite://{tmp_path}/state.db"
    one = run(url, first, "p0", "p1", "p2")
    assert acted(one) == ["p0", "p1", "p2"]
    two = run(url, second, "p3", "p4", "p5", "p0")
    assert acted(two) == [], two
    assert [o["reason"].split(":")[0] for o in two] == ["blast_radius"] * 3 + ["cooldown"]


def test_a_skewed_process_sees_its_own_claims_expire_on_time(tmp_path: Path) -> None:
    """The store's clock decides: a process an hour behind does not keep slots for an hour
    longer, so the window slides for everyone at the same moment."""
    from falco_response.state.sqlite import SQLiteStore

    url = f"sqlite://{tmp_path}/state.db"
    assert acted(run(url, -HOUR, "p0")) == ["p0"]
    store = SQLiteStore(tmp_path / "state.db")
    (expires,) = store._db.execute("SELECT expires_at FROM claims WHERE key LIKE 'limit:%'"
                                   ).fetchone()
    (now,) = store._db.execute("SELECT (julianday('now') - 2440587.5) * 86400.0").fetchone()
    assert 590 < expires - now <= 600
    store.close()
