"""Loading only the plugins a config needs, decided from installed metadata alone.

A distribution declares the action types it provides as entry points of the group
``falco_response.actions`` (name: the action type, value: its plugin module), beside its
plugin in ``falco_response``::

    [project.entry-points.falco_response]
    delete-pod = "falco_response_delete_pod"

    [project.entry-points."falco_response.actions"]
    delete-pod = "falco_response_delete_pod"
    isolate-pod = "falco_response_delete_pod"

Such a distribution is imported only when the config uses one of those types: a Slack-only
Lambda with every plugin installed never imports the Kubernetes ones. A distribution that
declares nothing (a third-party plugin written before this, or one with other hooks:
parsers, filters, observers) is always loaded, as before. A config naming a type that no
distribution declares loads every plugin, so the error lists every installed type.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from .hookspecs import PROJECT

ACTIONS_GROUP = f"{PROJECT}.actions"
BUILTIN_ACTION_TYPES = frozenset({"log"})  # default_plugins.log_action (a test holds them equal)


def installed_plugins() -> list[tuple[Any, frozenset[str] | None]]:
    """Each installed plugin entry point, with the action types its distribution declares
    (None: it declares none). One pass over the metadata; nothing is imported."""
    from importlib import metadata  # only here: a Lambda zip's manifest never needs it

    found: list[tuple[Any, frozenset[str] | None]] = []
    for dist in metadata.distributions():
        eps = dist.entry_points
        plugins = [ep for ep in eps if ep.group == PROJECT]
        if not plugins:
            continue
        declared = [ep.name for ep in eps if ep.group == ACTIONS_GROUP]
        types = frozenset(declared) if declared else None
        found.extend((ep, types) for ep in plugins)
    return found


def unneeded(declared: Iterable[tuple[str, Collection[str] | None]],
             action_types: Collection[str]) -> set[str]:
    """The plugin names (of ``(name, declared types or None)``) a config using
    ``action_types`` does not need: those that declare types, none of them used. Nothing is
    left out when a used type is declared by no one (every plugin must load to name it)."""
    entries = list(declared)
    known = set(BUILTIN_ACTION_TYPES).union(*(t for _, t in entries if t is not None))
    if not set(action_types) <= known:
        return set()
    return {name for name, types in entries
            if types is not None and not set(types) & set(action_types)}


def load_needed_plugins(pm: Any, action_types: set[str]) -> list[str]:
    """Import and register the installed plugins a config using ``action_types`` needs;
    returns the entry-point names left out (not imported)."""
    candidates = installed_plugins()
    skip = unneeded(((ep.name, types) for ep, types in candidates), action_types)
    for ep, _ in candidates:
        if ep.name in skip or pm.has_plugin(ep.name) or pm.is_blocked(ep.name):
            continue
        pm.register(ep.load(), name=ep.name)
    return sorted(skip)
