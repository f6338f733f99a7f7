"""Plugins calls hooks through pluggy's own dispatch; its one fast path is keyed on the
registered built-in parser module, not on a plugin name."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

import pluggy

from falco_response import Alert, Outcome, alert_from_dict, hookimpl, hookspecs
from falco_response.default_plugins import parsers
from falco_response.plugins import Plugins, build_plugin_manager

from .conftest import alert_dict


def _manager(*plugins: tuple[Any, str]) -> Plugins:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for plugin, name in plugins:
        pm.register(plugin, name=name)
    return Plugins(pm)


def test_the_fast_path_follows_the_parser_module_whatever_its_name() -> None:
    assert build_plugin_manager(entry_points=False).only_builtin_parser
    assert _manager((parsers, "renamed-parsers")).only_builtin_parser  # the object, not the name

    class Impostor:
        """Registered under the built-in's name: no fast path for it."""

        @hookimpl
        def parse_alert(self, payload: Any) -> Alert | None:
            return None

    assert not _manager((Impostor(), "falco_response.parsers")).only_builtin_parser
    assert not _manager((parsers, "falco_response.parsers"), (Impostor(), "x")).only_builtin_parser


def test_a_filter_wrapper_runs_through_pluggy() -> None:
    seen: list[str] = []

    class Wrapper:
        @hookimpl(wrapper=True)
        def filter_alert(self, alert: Alert) -> Generator[None, str | None, str | None]:
            reason = yield
            seen.append(f"wrapped {reason}")
            return reason

    class Dropper:
        @hookimpl
        def filter_alert(self, alert: Alert) -> str | None:
            return "source: internal"

    plugins = _manager((parsers, "p"), (Dropper(), "dropper"), (Wrapper(), "wrapper"))
    assert plugins.filter_alert(alert_from_dict(alert_dict())) == "source: internal"
    assert seen == ["wrapped source: internal"]
    assert _manager((parsers, "p")).filter_alert(alert_from_dict(alert_dict())) is None


def test_each_observer_is_called_alone_so_one_that_raises_starves_none() -> None:
    calls: list[str] = []

    class Broken:
        @hookimpl
        def alert_handled(self, alert: Alert, outcomes: Sequence[Outcome]) -> None:
            raise RuntimeError("observer bug")

    class Counter:
        @hookimpl
        def alert_handled(self, outcomes: Sequence[Outcome]) -> None:  # a subset of the args
            calls.append(f"{len(outcomes)} outcomes")

    class Log:
        def __init__(self) -> None:
            self.errors: list[dict[str, Any]] = []

        def error(self, event: str, **fields: Any) -> None:
            self.errors.append({"event": event, **fields})

    log = Log()
    plugins = _manager((Counter(), "counter"), (Broken(), "broken"))
    plugins.alert_handled(alert_from_dict(alert_dict()), [], log)
    assert calls == ["0 outcomes"]
    assert log.errors == [{"event": "alert_handled hook raised", "plugin": "broken",
                           "error": "RuntimeError: observer bug"}]
