"""Cold start: the hook marker import is light, and a config's plugins are chosen from
metadata before any is imported (distributions that declare no action types always load)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from falco_response import ConfigError, Engine
from falco_response.config import action_types_in
from falco_response.plugin_metadata import BUILTIN_ACTION_TYPES, installed_plugins
from falco_response.plugins import build_plugin_manager

from .conftest import alert_dict


def imported_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json\n"
                          "print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True, timeout=60)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_the_hook_marker_import_needs_only_pluggy() -> None:
    modules = imported_after("from falco_response import hookimpl")
    ours = {m for m in modules if m.startswith("falco_response")}
    assert ours == {"falco_response", "falco_response.hookspecs"}
    assert not modules & {"yaml", "structlog", "msgspec", "falco_response.engine"}


def test_the_package_names_still_resolve_on_use() -> None:
    import falco_response

    assert falco_response.Engine is Engine
    assert set(falco_response.__all__) <= set(dir(falco_response))
    with pytest.raises(AttributeError):
        falco_response.NoSuchName  # noqa: B018


def test_the_builtin_types_are_the_ones_declared_for_them() -> None:
    assert set(build_plugin_manager(entry_points=False).actions.names()) == BUILTIN_ACTION_TYPES


def test_a_plugin_that_declares_no_action_types_always_loads() -> None:
    # The example distribution declares nothing: a log-only config still gets its filter.
    assert any(ep.name == "example" and types is None for ep, types in installed_plugins())
    engine = Engine.from_config({"version": 1, "responses": [
        {"name": "all", "actions": [{"type": "log"}]}]})
    assert "example" in engine.plugins.names()
    (result,) = engine.handle(alert_dict(tags=["example-drop"]))
    assert result.dropped == "tagged example-drop"


@pytest.mark.parametrize("raw, types", [
    ({"version": 1}, set()),
    ({"actions": {"a": {"type": "slack"}}, "responses": [
        {"actions": ["a", {"type": "delete-pod"}]}]}, {"slack", "delete-pod"}),
    ({"settings": {"limits": {"destructive": {}, "taint-node": {}}}}, {"taint-node"}),
    ({"actions": {"a": {"type": "${TYPE}"}}}, None),
    ({"actions": {"a": {"type": 3}}}, None),
    ([], None),
])
def test_action_types_are_read_from_the_raw_config(raw: Any, types: set[str] | None) -> None:
    assert action_types_in(raw) == types


def test_an_unknown_type_still_names_every_installed_one() -> None:
    with pytest.raises(ConfigError) as info:
        Engine.from_config({"version": 1, "responses": [
            {"name": "x", "actions": [{"type": "no-such-type"}]}]})
    assert "example-echo" in str(info.value) and "log" in str(info.value)


def test_every_repository_plugin_declares_exactly_the_types_it_registers() -> None:
    import re
    import tomllib

    from .conftest import ROOT

    for pyproject in sorted(ROOT.glob("plugins/*/pyproject.toml")):
        if "_template" in pyproject.parts:
            continue
        groups = tomllib.loads(pyproject.read_text())["project"].get("entry-points", {})
        if "falco_response" not in groups:
            continue
        source = "".join(p.read_text() for p in pyproject.parent.glob("src/**/*.py"))
        registered = set(re.findall(r'\bregister\(\s*"([a-z0-9-]+)"', source))
        declared = set(groups.get("falco_response.actions", {}))
        assert declared == registered, pyproject
