"""Building a ready engine from a config file, for a process that lives as long as it does:
the commands (``falco-response ...``) and the action process of ``serve``; and the outline
``serve``'s intake needs instead (:mod:`.outline`) when its actions run elsewhere.

Kept in the core, not in ``cli/``, so the server's child process builds its engine exactly
as the command line does without reaching up into it.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from . import environment
from .config import Config, action_types_in, load_config, read_config
from .engine import Engine
from .errors import ConfigError, PluginError
from .logs import configure_logging
from .outline import Outline, load_outline as _outline
from .plugins import build_plugin_manager

if TYPE_CHECKING:
    from .delivery import Claims
    from .state import StateStore


@dataclass(frozen=True)
class StoreChoice:
    """The store a command gives its engine, chosen once the config is read: ``store``
    (None: the engine opens the config's own), and whether dry-run outcomes are audited in
    it (a what-if run writes nothing shared)."""

    store: StateStore | None = None
    audit_dry_runs: bool = True


StoreFor = Callable[[Config], StoreChoice]

EXIT_CONFIG = 3
"""The exit code of a process whose config or plugins could not be loaded (the CLI's too)."""


def load_engine(path: str, *, dry_run: bool = False, quiet: bool = False,
                plugins: Sequence[Any] = (), startup_level: str = "warning",
                level: str | None = None, logger: Any = None,
                store: StoreFor | None = None,
                idempotency: Claims | None = None) -> Engine | None:
    """The engine for the config at ``path``, or None after printing every problem to
    stderr.

    Logs go to stderr at ``$FALCO_RESPONSE_LOG_LEVEL``, else the config's ``log_level``
    (``error`` when ``quiet``, for commands whose output is a table for a person);
    ``startup_level`` applies while the config loads. ``plugins`` are extra hook objects
    (the server's metrics). ``level`` is ``$FALCO_RESPONSE_LOG_LEVEL`` already checked by
    the caller; without it the variable is read here.

    ``logger`` and ``idempotency`` are given to the engine as it is built (see
    :class:`~falco_response.engine.Engine`); so is what ``store`` chooses for the loaded
    config (:class:`StoreChoice`: a command that opens the config's store read-only, or
    another one), called once, before the engine exists.
    """
    def build() -> Engine:
        read = read_config(path)
        manager = build_plugin_manager(plugins, action_types=action_types_in(read[1]))
        config = load_config(path, manager.actions, read)
        chosen = store(config) if store is not None else StoreChoice()
        return Engine(config, manager, dry_run=dry_run, logger=logger, store=chosen.store,
                      idempotency=idempotency, audit_dry_runs=chosen.audit_dry_runs)

    engine = _logged(build, quiet=quiet, startup_level=startup_level, level=level)
    if engine is None:
        return None
    _freeze()
    return engine


def load_outline(path: str, *, startup_level: str = "warning", level: str | None = None,
                 plugins: Sequence[Any] = ()) -> Outline | None:
    """What ``serve``'s intake needs of the config at ``path`` (:mod:`~.outline`: its
    parsers and which actions are destructive, no action built), or None after printing
    every problem to stderr. Logs as :func:`load_engine` says."""
    outline = _logged(lambda: _outline(path, plugins), quiet=False,
                      startup_level=startup_level, level=level)
    if outline is not None:
        _freeze()
    return outline


_Loaded = TypeVar("_Loaded", Engine, Outline)


def _logged(build: Callable[[], _Loaded], *, quiet: bool, startup_level: str,
            level: str | None) -> _Loaded | None:
    if level is None:
        level = (os.environ.get(environment.LOG_LEVEL) or "").strip().lower() or None
    configure_logging(level or ("error" if quiet else startup_level))
    try:
        loaded = build()
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return None
    except PluginError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    if level is None and not quiet:
        configure_logging(loaded.log_level if isinstance(loaded, Outline)
                          else loaded.config.log_level)
    return loaded


def _freeze() -> None:
    gc.collect()
    gc.freeze()  # the config lives as long as the process: keep the collector off it
