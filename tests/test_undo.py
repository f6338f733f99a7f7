"""The core of `falco-response undo`: an action type registered with ``undo=``, the audit
record that keeps what undo needs, refusals, and the undo's own audit record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from falco_response import hookimpl
from falco_response.cli import main
from falco_response.undo import UndoNotFound, undo

from .conftest import alert_dict, build

STATE: dict[str, Any] = {}


class Flags:
    """set-flag sets STATE[name]; its undo puts the previous value back, unless changed."""

    @hookimpl
    def register_actions(self, register: Any) -> None:
        def make(params: Any) -> Any:
            def run(ctx: Any) -> Any:
                if ctx.dry_run:
                    return ctx.would("would set the flag", target="flag:main")
                before = STATE.get("flag")
                STATE["flag"] = "on"
                return ctx.ok(target="flag:main", reason="set",
                              detail={"undo": {"before": before, "set": "on"}})
            return run

        def make_undo(params: Any) -> Any:
            def run(ctx: Any) -> Any:
                if ctx.data.get("boom"):
                    raise RuntimeError("undo crashed")
                if STATE.get("flag") != ctx.data["set"]:
                    return ctx.skipped("refusing to undo: the flag changed since")
                if not ctx.dry_run:
                    STATE["flag"] = ctx.data["before"]
                return ctx.ok(reason=f"flag back to {ctx.data['before']}")
            return run

        register("set-flag", make, destructive=True, undo=make_undo)
        register("no-undo", lambda p: lambda ctx: ctx.ok(target="x", reason="done",
                                                        detail={"undo": {"x": 1}}))


def engine_for(tmp_path: Path) -> Any:
    STATE.clear()
    config = {"version": 1, "settings": {"store": f"sqlite:///{tmp_path / 's.db'}"},
              "actions": {"flag": {"type": "set-flag"}, "plain": {"type": "no-undo"}},
              "responses": [{"name": "r", "actions": ["flag", "plain"]}]}
    return build(config, Flags()), config


def ids(engine: Any) -> dict[str, str]:
    return {r.action: r.id for r in engine.store.history(0)}


def test_undo_reverses_and_is_recorded(tmp_path: Path) -> None:
    engine, _ = engine_for(tmp_path)
    engine.handle(alert_dict())
    [flag_record] = [r for r in engine.store.history(0) if r.action == "flag"]
    assert flag_record.undo == {"before": None, "set": "on"} and len(flag_record.id) == 12
    outcome, record = undo(engine, flag_record.id, dry_run=True, by="carol")
    assert (outcome.status.value, outcome.reason) == ("dry_run", "would: flag back to None")
    assert STATE["flag"] == "on"
    outcome, record = undo(engine, flag_record.id, dry_run=False, by="carol")
    assert (outcome.status.value, outcome.response, outcome.detail) == (
        "ok", "undo", {"of": flag_record.id})
    assert STATE["flag"] is None
    mine = [r for r in engine.store.history(0) if r.response == "undo"]
    assert [(r.by, r.dry_run, r.status, r.undo) for r in mine] == [
        ("carol", True, "dry_run", {"of": flag_record.id}),
        ("carol", False, "ok", {"of": flag_record.id})]
    again, _ = undo(engine, flag_record.id, dry_run=False, by="dave")
    assert again.status.value == "skipped" and again.reason.startswith("already undone by carol")
    refused, _ = undo(engine, mine[-1].id, dry_run=False, by="dave")
    assert refused.reason.endswith("is itself an undo; nothing changed")


def test_refusals(tmp_path: Path) -> None:
    engine, config = engine_for(tmp_path)
    engine.handle(alert_dict())
    found = ids(engine)
    outcome, _ = undo(engine, found["plain"], dry_run=False, by="x")
    assert outcome.reason == "no-undo cannot be undone: it has no reverse; nothing changed"
    STATE["flag"] = "someone else"
    outcome, _ = undo(engine, found["flag"], dry_run=False, by="x")
    assert outcome.reason == "refusing to undo: the flag changed since"
    assert STATE["flag"] == "someone else"
    with pytest.raises(UndoNotFound, match="no audit record 'nope'"):
        undo(engine, "nope", dry_run=False, by="x")
    other = build({**config, "actions": {"plain": {"type": "no-undo"}},
                   "responses": [{"name": "r", "actions": ["plain"]}]}, Flags())
    outcome, _ = undo(other, found["flag"], dry_run=False, by="x")
    assert outcome.status.value == "failed" and "is not in this config" in outcome.reason


def test_a_crashing_undo_is_a_failed_outcome(tmp_path: Path) -> None:
    engine, _ = engine_for(tmp_path)
    engine.handle(alert_dict())
    record = [r for r in engine.store.history(0) if r.action == "flag"][0]
    engine.store.record([msgspec.structs.replace(record, id="crash0000000",
                                                 undo={"boom": True})], 3600)
    outcome, _ = undo(engine, "crash0000000", dry_run=False, by="x")
    assert (outcome.status.value, outcome.reason) == ("failed", "RuntimeError: undo crashed")


def test_a_dry_run_outcome_has_nothing_to_undo(tmp_path: Path) -> None:
    STATE.clear()
    config = {"version": 1, "settings": {"store": f"sqlite:///{tmp_path / 's.db'}"},
              "responses": [{"name": "r", "actions": [{"type": "set-flag"}]}]}
    engine = build(config, Flags(), dry_run=True)
    engine.handle(alert_dict())
    [record] = engine.store.history(0)
    outcome, _ = undo(engine, record.id, dry_run=False, by="x")
    assert "it changed nothing, so there is nothing to undo" in outcome.reason


def test_cli_undo_needs_a_store(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps({"version": 1, "responses": [{"name": "r",
                                                             "actions": [{"type": "log"}]}]}))
    assert main(["undo", "abc", "--config", str(path)]) == 3
    assert "names no settings.store" in capsys.readouterr().err
