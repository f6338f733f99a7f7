from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from falco_response import Alert, Engine, alert_from_dict

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SAMPLES = DATA / "samples"
FALCO_RULES = DATA / "falco-stable-rules.json"

TERMINAL_SHELL: dict[str, Any] = json.loads(
    (SAMPLES / "falco-syscall-terminal-shell.json").read_text())


def alert_dict(**overrides: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(TERMINAL_SHELL))
    fields = overrides.pop("output_fields", None)
    if fields is not None:
        data["output_fields"] = fields
    data.update(overrides)
    return data


def make_alert(**overrides: Any) -> Alert:
    return alert_from_dict(alert_dict(**overrides))


class Recorder:
    """A plugin object for one test: an action type that records what it saw."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool, tuple[str, ...]]] = []

    def make(self, params: Any) -> Any:
        def run(ctx: Any) -> Any:
            self.seen.append((ctx.action, ctx.dry_run, tuple(o.action for o in ctx.previous)))
            if ctx.dry_run:
                return ctx.would("would record")
            return ctx.ok(target="thing:x", reason="recorded")
        return run


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    yield Recorder()


def build(config: dict[str, Any], *plugins: Any, **kwargs: Any) -> Engine:
    return Engine.from_config(config, plugins=plugins, entry_points=False, **kwargs)
