"""The engine's collaborators (store, logger, idempotency, audit_dry_runs) are given when it is
built, never patched in: there is no store setter, and a store given at construction keeps
the one audit rule (a trail only where ``falco-response audit`` can read it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from falco_response import Engine, hookimpl
from falco_response.loading import StoreChoice, load_engine
from falco_response.state.memory import MemoryStore
from falco_response.state.sqlite import SQLiteStore

from .conftest import alert_dict


class Tell:
    @hookimpl
    def register_actions(self, register: Any) -> None:
        register("tell", lambda params: self.run, blocking=False)

    def run(self, ctx: Any) -> Any:
        return ctx.would("would tell") if ctx.dry_run else ctx.ok(reason="told")


class Recording:
    """A logger that keeps its events."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def _log(self, event: str, **fields: Any) -> None:
        self.events.append((event, fields))

    info = warning = error = debug = critical = _log


def config(*, store: str | None = None, audit: bool = True,
           dry_run: bool = False) -> dict[str, Any]:
    settings: dict[str, Any] = {"dry_run": dry_run}
    if store:
        settings["store"] = store
    if not audit:
        settings["audit"] = {"enabled": False}
    return {"version": 1, "settings": settings,
            "responses": [{"name": "r", "actions": [{"type": "tell"}]}]}


def trail(store: Any) -> list[str]:
    return [record.status for record in store.history(0)]


class KeptMemory(MemoryStore):
    """A memory store that, as far as the engine knows, keeps a trail (it is not memory://)."""

    url = "memory://kept"


@pytest.mark.parametrize("audit", [True, False])
@pytest.mark.parametrize("kind", ["sqlite", "kept", "memory"])
def test_a_store_given_at_construction_keeps_the_audit_rule(tmp_path: Path, kind: str,
                                                            audit: bool) -> None:
    store = {"sqlite": lambda: SQLiteStore(tmp_path / "s.db"), "kept": KeptMemory,
             "memory": MemoryStore}[kind]()
    engine = Engine.from_config(config(audit=audit), plugins=[Tell()], entry_points=False,
                                store=store)
    (result,) = engine.handle(alert_dict())
    assert result.ok and engine.store is store
    # The rule: audited when the config asks and the store is not this process's memory.
    assert trail(store) == (["ok"] if audit and kind != "memory" else [])


def test_a_store_given_matches_the_same_store_opened_from_the_config(tmp_path: Path) -> None:
    given = SQLiteStore(tmp_path / "given.db")
    Engine.from_config(config(), plugins=[Tell()], entry_points=False,
                       store=given).handle(alert_dict())
    opened = Engine.from_config(config(store=f"sqlite://{tmp_path / 'opened.db'}"),
                                plugins=[Tell()], entry_points=False)
    opened.handle(alert_dict())
    assert trail(given) == trail(opened.store) == ["ok"]


def test_dry_runs_are_audited_unless_the_engine_is_built_not_to(tmp_path: Path) -> None:
    for audit_dry_runs, expected in ((True, ["dry_run"]), (False, [])):
        store = SQLiteStore(tmp_path / f"{audit_dry_runs}.db")
        engine = Engine.from_config(config(dry_run=True), plugins=[Tell()], entry_points=False,
                                    store=store, audit_dry_runs=audit_dry_runs)
        assert engine.handle(alert_dict())[0].outcomes[0].status.value == "dry_run"
        assert trail(store) == expected


def test_the_store_and_the_logger_cannot_be_patched_in_afterwards() -> None:
    engine = Engine.from_config(config(), plugins=[Tell()], entry_points=False)
    with pytest.raises(AttributeError):
        engine.store = MemoryStore()  # type: ignore[misc]


def test_the_logger_given_at_construction_gets_the_events() -> None:
    log = Recording()
    engine = Engine.from_config(config(), plugins=[Tell()], entry_points=False, logger=log)
    engine.handle(b"not json")
    engine.handle(alert_dict())
    assert [event for event, _ in log.events] == ["unreadable message", "action outcome"]


def test_load_engine_gives_the_chosen_store_and_logger(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    import falco_response.loading as loading

    original = loading.build_plugin_manager
    monkeypatch.setattr(loading, "build_plugin_manager",
                        lambda plugins=(), **kw: original([*plugins, Tell()], **kw))
    monkeypatch.setattr("gc.freeze", lambda: None)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config(store=f"sqlite://{tmp_path / 'configured.db'}")))
    store, log, seen = SQLiteStore(tmp_path / "chosen.db"), Recording(), []

    def choose(cfg: Any) -> StoreChoice:
        seen.append(cfg.settings.store)
        return StoreChoice(store, audit_dry_runs=False)

    engine = load_engine(str(path), logger=log, store=choose, level="error")
    assert engine is not None
    assert seen == [f"sqlite://{tmp_path / 'configured.db'}"]
    assert engine.store is store and engine.log is log and not engine.audit_dry_runs
    engine.handle(alert_dict())
    assert trail(store) == ["ok"] and not (tmp_path / "configured.db").exists()


def test_the_writing_plugins_example_of_collaborators_runs() -> None:
    import re

    page = (Path(__file__).resolve().parent.parent / "docs" / "writing-plugins.md").read_text()
    [example] = [b for b in re.findall(r"```python\n(.*?)```", page, re.S)
                 if "engine.store is store" in b]
    exec(compile(example, "writing-plugins.md", "exec"), {})
