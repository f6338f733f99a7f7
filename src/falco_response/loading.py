"""Building a ready engine from a config file, for a process that lives as long as it does:
the commands (``falco-response ...``) and the action process of ``serve``.

Kept in the core, not in ``cli/``, so the server's child process builds its engine exactly
as the command line does without reaching up into it.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence
from typing import Any

from . import environment
from .engine import Engine
from .errors import ConfigError, PluginError
from .logs import configure_logging

EXIT_CONFIG = 3
"""The exit code of a process whose config or plugins could not be loaded (the CLI's too)."""


def load_engine(path: str, *, dry_run: bool = False, quiet: bool = False,
                plugins: Sequence[Any] = (), startup_level: str = "warning",
                level: str | None = None) -> Engine | None:
    """The engine for the config at ``path``, or None after printing every problem to
    stderr.

    Logs go to stderr at ``$FALCO_RESPONSE_LOG_LEVEL``, else the config's ``log_level``
    (``error`` when ``quiet``, for commands whose output is a table for a person);
    ``startup_level`` applies while the config loads. ``plugins`` are extra hook objects
    (the server's metrics). ``level`` is ``$FALCO_RESPONSE_LOG_LEVEL`` already checked by
    the caller; without it the variable is read here.
    """
    if level is None:
        level = (os.environ.get(environment.LOG_LEVEL) or "").strip().lower() or None
    configure_logging(level or ("error" if quiet else startup_level))
    try:
        engine = Engine.from_config(path, plugins=plugins, dry_run=dry_run)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return None
    except PluginError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    if level is None and not quiet:
        configure_logging(engine.config.log_level)
    gc.collect()
    gc.freeze()  # the config lives as long as the process: keep the collector off it
    return engine
