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

from importlib import metadata
from typing import Any

from .hookspecs import PROJECT

ACTIONS_GROUP = f"{PROJECT}.actions"
BUILTIN_ACTION_TYPES = frozenset({"log"})  # default_plugins.log_action (a test holds them equal)


def installed_plugins() -> list[tuple[Any, frozenset[str] | None]]:
    """Each installed plugin entry point, with the action types its distribution declares
    (None: it declares none). One pass over the metadata; nothing is imported."""
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


def load_needed_plugins(pm: Any, action_types: set[str]) -> list[str]:
    """Import and register the installed plugins a config using ``action_types`` needs;
    returns the entry-point names left out (not imported)."""
    candidates = installed_plugins()
    declared = set(BUILTIN_ACTION_TYPES).union(*(t for _, t in candidates if t is not None))
    everything = not action_types <= declared  # an unknown type: load all, to name them all
    skipped = []
    for ep, types in candidates:
        if pm.has_plugin(ep.name) or pm.is_blocked(ep.name):
            continue
        if not everything and types is not None and not types & action_types:
            skipped.append(ep.name)
            continue
        pm.register(ep.load(), name=ep.name)
    return skipped
