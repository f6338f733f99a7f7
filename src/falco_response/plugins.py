"""The plugin manager: built-ins first, then entry points of group ``falco_response``.

Nothing loads at import time; :func:`build_plugin_manager` is called by the engine.
``FALCO_RESPONSE_DISABLE_PLUGINS`` (comma-separated entry-point or plugin names) blocks
plugins before they load.

Every hook is called through pluggy's own ``pm.hook`` (as tox does): pluggy decides order,
``firstresult``, wrappers and ``trylast``. The one exception is measured, see
:attr:`Plugins.only_builtin_parser`.
"""

from __future__ import annotations

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
        from .default_plugins import parsers

        self.pm = pm
        self.actions = ActionRegistry()
        for plugin in _implementers(pm, "register_actions"):
            name = pm.get_name(plugin) or repr(plugin)
            try:
                _only(pm, "register_actions", plugin)(register=self.actions.register_for(name))
            except PluginError:
                raise
            except Exception as exc:  # a broken plugin must name itself, not crash obscurely
                raise PluginError(f"plugin {name!r} failed to register its actions: {exc}") from exc
        # The one fast path, keyed on registered objects, not names: a per-alert hook that no
        # plugin beyond the built-in parser module implements is not dispatched. When that
        # module is parse_alert's only implementer the engine decodes Falco JSON with its
        # typed decoder; when nothing implements filter_alert it is not called. Measured on
        # the loaded 2-core CI box: an empty filter_alert through pm.hook costs 4.2 us per
        # call, skipped 0.1 us, against ~8 us for a whole alert (bench/run.py --alerts 40000,
        # 10 responses, WARNING: median of 3 alternating rounds 150k alerts/s before, 137k
        # after, within this box's +-20% noise; the two per-alert calls themselves went from
        # 0.2 + 0.4 us to 0.07 + 0.1 us).
        self.only_builtin_parser = _implementers(pm, "parse_alert") == [parsers]
        self._filter: Callable[..., Any] | None = (
            pm.hook.filter_alert if _implementers(pm, "filter_alert") else None)
        # alert_handled: one caller per observer, so one that raises cannot starve the others.
        self._observers = [(pm.get_name(plugin) or repr(plugin), _only(pm, "alert_handled", plugin))
                           for plugin in _implementers(pm, "alert_handled")]

    def parse_alert(self, payload: Any) -> Alert | None:
        result: Alert | None = self.pm.hook.parse_alert(payload=payload)
        return result

    def filter_alert(self, alert: Alert) -> str | None:
        if self._filter is None:
            return None
        result: str | None = self._filter(alert=alert)
        return result

    def alert_handled(self, alert: Alert, outcomes: Sequence[Outcome], log: Any) -> None:
        """Call every observer on its own, so one that raises cannot starve the others."""
        for plugin, observe in self._observers:
            try:
                observe(alert=alert, outcomes=outcomes)
            except Exception as exc:
                log.error("alert_handled hook raised", plugin=plugin,
                          error=f"{type(exc).__name__}: {exc}")

    def names(self) -> list[str]:
        return [name for name, plugin in self.pm.list_name_plugin() if plugin is not None]

    def distributions(self) -> list[tuple[str, str]]:
        """(plugin name, "distribution version") for plugins loaded from entry points."""
        return [(self.pm.get_name(plugin) or "?", f"{dist.project_name} {dist.version}")
                for plugin, dist in self.pm.list_plugin_distinfo()]


def _implementers(pm: pluggy.PluginManager, hook: str) -> list[Any]:
    """The registered objects implementing ``hook``, in pluggy's call order."""
    return [impl.plugin for impl in reversed(getattr(pm.hook, hook).get_hookimpls())]


def _only(pm: pluggy.PluginManager, hook: str, plugin: Any) -> Callable[..., Any]:
    """pluggy's caller for ``hook`` restricted to one plugin (``subset_hook_caller``)."""
    others = [p for p in pm.get_plugins() if p is not plugin]
    return pm.subset_hook_caller(hook, remove_plugins=others)


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
