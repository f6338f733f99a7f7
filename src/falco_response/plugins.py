"""The plugin manager: built-ins first, then entry points of group ``falco_response``.

Nothing loads at import time; :func:`build_plugin_manager` is called by the engine.
``FALCO_RESPONSE_DISABLE_PLUGINS`` (comma-separated entry-point or plugin names) blocks
plugins before they load.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

import pluggy

from . import environment, hookspecs
from .actions import ActionRegistry
from .alert import Alert
from .errors import PluginError
from .outcome import Outcome

DISABLE_ENV = environment.DISABLE_PLUGINS


class Plugins:
    """A typed face on pluggy's manager, so callers never touch the untyped ``pm.hook``."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.actions = ActionRegistry()
        for impl in pm.hook.register_actions.get_hookimpls():
            name = pm.get_name(impl.plugin) or impl.plugin_name
            try:
                impl.function(register=self.actions.register_for(name))
            except PluginError:
                raise
            except Exception as exc:  # a broken plugin must name itself, not crash obscurely
                raise PluginError(f"plugin {name!r} failed to register its actions: {exc}") from exc
        # The per-alert hooks run for every alert: resolve their implementations once.
        self._parsers = _callers(pm.hook.parse_alert, "payload")
        self.only_builtin_parser = self._parsers is not None and len(self._parsers) == 1 and \
            pm.get_name(pm.hook.parse_alert.get_hookimpls()[0].plugin) == "falco_response.parsers"
        self._filters = _callers(pm.hook.filter_alert, "alert")
        self._observers = [(impl.plugin_name, impl.function, tuple(impl.argnames))
                           for impl in reversed(pm.hook.alert_handled.get_hookimpls())]

    def parse_alert(self, payload: Any) -> Alert | None:
        if self._parsers is None:
            result: Alert | None = self.pm.hook.parse_alert(payload=payload)
            return result
        for parse in self._parsers:
            found = parse(payload)
            if found is not None:
                return found  # type: ignore[no-any-return]
        return None

    def filter_alert(self, alert: Alert) -> str | None:
        if self._filters is None:
            result: str | None = self.pm.hook.filter_alert(alert=alert)
            return result
        for keep_or_drop in self._filters:
            reason = keep_or_drop(alert)
            if reason is not None:
                return reason  # type: ignore[no-any-return]
        return None

    def alert_handled(self, alert: Alert, outcomes: Sequence[Outcome], log: Any) -> None:
        """Call every observer on its own, so one that raises cannot starve the others."""
        values = {"alert": alert, "outcomes": outcomes}
        for plugin, function, argnames in self._observers:
            try:
                function(*(values[a] for a in argnames))
            except Exception as exc:
                log.error("alert_handled hook raised", plugin=plugin,
                          error=f"{type(exc).__name__}: {exc}")

    def names(self) -> list[str]:
        return [name for name, plugin in self.pm.list_name_plugin() if plugin is not None]

    def distributions(self) -> list[tuple[str, str]]:
        """(plugin name, "distribution version") for plugins loaded from entry points."""
        return [(self.pm.get_name(plugin) or "?", f"{dist.project_name} {dist.version}")
                for plugin, dist in self.pm.list_plugin_distinfo()]


def _callers(hook: Any, arg: str) -> list[Callable[[Any], Any]] | None:
    """The implementations of a one-argument firstresult hook, in pluggy's call order, as
    plain callables; None when a wrapper is involved (then pluggy itself must call)."""
    callers: list[Callable[[Any], Any]] = []
    for impl in reversed(hook.get_hookimpls()):
        if impl.hookwrapper or getattr(impl, "wrapper", False):
            return None
        function: Callable[..., Any] = impl.function
        if tuple(impl.argnames) == (arg,):
            callers.append(function)
        else:
            callers.append(functools.partial(_without_argument, function))
    return callers


def _without_argument(function: Callable[[], Any], _value: Any) -> Any:
    return function()


def disabled_plugins() -> set[str]:
    return {n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()}


def build_plugin_manager(extra: Iterable[Any] = (), *, entry_points: bool = True,
                         action_types: Collection[str] | None = None) -> Plugins:
    """Built-ins, then installed plugins, then ``extra`` (objects or modules with hookimpls).

    With ``action_types`` (those a config uses), an installed distribution that declares the
    action types it provides (entry-point group ``falco_response.actions``) is not even
    imported unless it provides one of them; distributions that declare none always load.
    """
    from .default_plugins import modules

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    blocked = disabled_plugins()
    for name in blocked:
        pm.set_blocked(name)
    for module in modules():
        short = module.__name__.rsplit(".", 1)[-1]
        if short not in blocked:
            pm.register(module, name=f"falco_response.{short}")
    if entry_points:
        try:
            if action_types is None:
                pm.load_setuptools_entrypoints(hookspecs.PROJECT)
            else:
                from .plugin_metadata import load_needed_plugins

                load_needed_plugins(pm, set(action_types))
        except Exception as exc:
            raise PluginError(f"could not load an installed plugin: {exc}") from exc
    for plugin in extra:
        pm.register(plugin)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(str(exc)) from exc
    return Plugins(pm)
