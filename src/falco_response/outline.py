"""What a process that only takes alerts in needs of a config: its parsers, never its actions.

``serve``'s intake parses each request (the plugins' ``parse_alert`` hook, through
:func:`~falco_response.reading.read_payload`) and queues the alerts; the runner's engine acts
on them, often in another process (:mod:`falco_response.server.action_process`). Intake also
refuses to serve destructive actions without authentication, so it must know which
configured actions are destructive. :func:`load_outline` learns both without building a
single action: the config is validated in full (schema, every action's parameters against
its type's schema, every ``match``), but no plugin's action factory (nor undo factory) is
called, so no client is made, no credential read and no connection opened here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .actions import ActionContext, ActionRegistry, ActionType
from .config import ConfigSource, action_types_in, load_config, read_config
from .engine import Engine, forced_dry_run
from .outcome import Outcome
from .plugins import Plugins, build_plugin_manager
from .reading import Parsers

NOT_BUILT = "not built in this process: intake only reads and queues alerts"


@dataclass(frozen=True)
class Outline:
    """What intake needs: the parsers, which configured actions are destructive
    (``response/action``), and whether approvals are configured (their routes need an
    engine: :class:`~falco_response.engine.Engine`, which carries the decisions out)."""

    source: str
    parsers: Parsers
    destructive_actions: tuple[str, ...]
    has_approvals: bool
    log_level: str
    dry_run: bool
    """Dry run forced by the config (``settings.dry_run``) or ``$FALCO_RESPONSE_DRY_RUN``."""


def outline_of(engine: Engine) -> Outline:
    """The outline of an engine already built (``serve --actions-in threads``)."""
    config = engine.config
    return Outline(config.source, engine.plugins, tuple(config.destructive_actions),
                   config.has_approvals, config.log_level, engine.dry_run)


def load_outline(source: ConfigSource, plugins: Any = (), *,
                 entry_points: bool = True) -> Outline:
    """The outline of the config at ``source`` with its plugins, no action built.
    Raises :class:`~falco_response.errors.ConfigError` or
    :class:`~falco_response.errors.PluginError` as ``Engine.from_config`` does."""
    read = read_config(source)
    manager = build_plugin_manager(plugins, entry_points=entry_points,
                                   action_types=action_types_in(read[1]))
    config = load_config(source, unbuilt(manager), read)
    return Outline(config.source, manager, tuple(config.destructive_actions),
                   config.has_approvals, config.log_level,
                   forced_dry_run() or config.settings.dry_run)


def unbuilt(plugins: Plugins) -> ActionRegistry:
    """The plugins' action types with the same names, schemas and nature, whose factories
    build nothing: each stands in an action that fails if it is ever run."""
    registry = ActionRegistry()
    for action_type in plugins.actions:
        _register_unbuilt(registry, action_type)
    return registry


def _register_unbuilt(registry: ActionRegistry, action_type: ActionType) -> None:
    registry.register_for(action_type.plugin)(
        action_type.name, _stand_in, params=action_type.params,
        destructive=action_type.destructive, summary=action_type.summary,
        permissions=action_type.permissions, scope=action_type.scope,
        blocking=action_type.blocking,
        undo=None if action_type.undo is None else _stand_in)


def _stand_in(params: Any) -> Any:
    return _not_built


def _not_built(ctx: ActionContext) -> Outcome:
    return ctx.failed(NOT_BUILT)
