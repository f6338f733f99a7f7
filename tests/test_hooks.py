"""One test (at least) per hook, and the plugin manager's rules.

The meta-test in test_hooks_meta.py fails when a hookspec has no ``test_hook_<name>`` here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import pytest

from falco_response import Alert, Outcome, ParseError, PluginError, alert_from_dict, hookimpl
from falco_response.plugins import build_plugin_manager

from .conftest import alert_dict, build

LOG = {"version": 1, "responses": [{"name": "r", "actions": [{"type": "log"}]}]}


def test_hook_register_actions() -> None:
    class Plugin:
        @hookimpl
        def register_actions(self, register: Any) -> None:
            register("custom", lambda p: lambda ctx: ctx.ok(reason="custom ran"),
                     destructive=True, summary="s", permissions=["pods: delete"])

    engine = build({"version": 1, "responses": [{"name": "r", "actions": [{"type": "custom"}]}]},
                   Plugin())
    action_type = engine.plugins.actions.get("custom")
    assert action_type is not None and action_type.destructive
    assert action_type.permissions == ("pods: delete",)
    (result,) = engine.handle(alert_dict())
    assert result.outcomes[0].reason == "custom ran"


def test_register_actions_collision_names_both_plugins() -> None:
    class Twin:
        @hookimpl
        def register_actions(self, register: Any) -> None:
            register("log", lambda p: lambda ctx: ctx.ok())

    with pytest.raises(PluginError, match="'log' registered by both"):
        build(LOG, Twin())


def test_register_actions_failure_names_the_plugin() -> None:
    class Broken:
        @hookimpl
        def register_actions(self, register: Any) -> None:
            raise RuntimeError("missing dependency")

    with pytest.raises(PluginError, match="failed to register its actions: missing dependency"):
        build(LOG, Broken())


def test_hook_parse_alert() -> None:
    class TextParser:
        """Parses 'RULE|PRIORITY' lines; declines everything else."""

        @hookimpl
        def parse_alert(self, payload: Any) -> Alert | None:
            if isinstance(payload, bytes) and payload.startswith(b"txt:"):
                rule, priority = payload[4:].decode().split("|")
                return alert_from_dict({"rule": rule, "priority": priority,
                                        "time": "2026-01-01T00:00:00Z"})
            if isinstance(payload, dict) and payload.get("vendor") == "acme":
                raise ParseError("acme alert without a severity")
            return None

    engine = build(LOG, TextParser())
    (result,) = engine.handle(b"txt:Custom rule|warning")
    assert result.alert is not None and result.alert.rule == "Custom rule"
    (result,) = engine.handle({"vendor": "acme"})
    assert result.error == "acme alert without a severity"
    (result,) = engine.handle(alert_dict())
    assert result.alert is not None and result.alert.rule == "Terminal shell in container"


def test_parse_alert_plugin_crash_is_a_result_not_a_crash() -> None:
    class Buggy:
        @hookimpl
        def parse_alert(self, payload: Any) -> Alert | None:
            raise KeyError("oops")

    (result,) = build(LOG, Buggy()).handle(alert_dict())
    assert result.error == "parser failed: KeyError: 'oops'"


def test_hook_filter_alert() -> None:
    class DropInternal:
        @hookimpl
        def filter_alert(self, alert: Alert) -> str | None:
            return "source: internal" if alert.source == "internal" else None

    engine = build(LOG, DropInternal())
    (dropped,) = engine.handle(alert_dict(source="internal", rule="Falco internal: syscall event drop"))
    assert dropped.dropped == "source: internal" and dropped.outcomes == []
    assert dropped.to_dict()["dropped"] == "source: internal"
    (kept,) = engine.handle(alert_dict())
    assert kept.dropped is None and len(kept.outcomes) == 1


def test_hook_alert_handled() -> None:
    seen: list[tuple[str, list[str]]] = []

    class Raiser:
        @hookimpl
        def alert_handled(self, alert: Alert, outcomes: Sequence[Outcome]) -> None:
            raise RuntimeError("observer bug")

    class Observer:
        @hookimpl
        def alert_handled(self, alert: Alert, outcomes: Sequence[Outcome]) -> None:
            seen.append((alert.rule, [o.status.value for o in outcomes]))

    engine = build({"version": 1, "responses": [
        {"name": "r", "match": {"rule": "Terminal*"}, "actions": [{"type": "log"}]}]},
        Observer(), Raiser())
    engine.handle(alert_dict())
    engine.handle(alert_dict(rule="Unmatched"))
    assert seen == [("Terminal shell in container", ["ok"]), ("Unmatched", [])]


def test_check_pending_rejects_unknown_hooks() -> None:
    class Typo:
        @hookimpl
        def register_action(self, register: Any) -> None:  # missing the s
            pass

    with pytest.raises(PluginError, match="unknown hook 'register_action'"):
        build_plugin_manager([Typo()], entry_points=False)


def test_disable_plugins_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FALCO_RESPONSE_DISABLE_PLUGINS", "log_action, somethingelse")
    plugins = build_plugin_manager(entry_points=False)
    assert plugins.actions.get("log") is None
    assert "falco_response.log_action" not in plugins.names()
    assert "falco_response.parsers" in plugins.names()


def test_importing_loads_no_plugin() -> None:
    code = ("import sys, falco_response; "
            "print(sorted(m for m in sys.modules if m.startswith('falco_response_')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ})
    assert out.stdout.strip() == "[]"


def test_a_bad_scope_is_refused_by_its_own_error_naming_the_plugin() -> None:
    from falco_response.actions import ActionRegistry, DuplicateActionType, InvalidActionType

    register = ActionRegistry().register_for("acme")
    with pytest.raises(InvalidActionType, match="'acme', action type 'x': scope must be one of pod, node, not 'cluster'") as caught:
        register("x", lambda params: None, scope="cluster")  # type: ignore[arg-type,return-value]
    assert isinstance(caught.value, PluginError) and not isinstance(caught.value, DuplicateActionType)
