"""What several commands share: the ``--config`` option and building an engine from it."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from typing import Any

from .. import environment
from ..engine import Engine
from ..errors import ConfigError, PluginError
from ..logs import configure_logging

CONFIG_ENV = environment.CONFIG
LOG_LEVEL_ENV = environment.LOG_LEVEL


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", default=os.environ.get(CONFIG_ENV),
                        help=f"config file (default: ${CONFIG_ENV})")


def config_path(args: argparse.Namespace) -> str | None:
    if not args.config:
        print(f"falco-response: no config: pass --config or set {CONFIG_ENV}", file=sys.stderr)
        return None
    return str(args.config)


def load_engine(args: argparse.Namespace, *, dry_run: bool = False, quiet: bool = False,
                plugins: Sequence[Any] = (), startup_level: str = "warning") -> Engine | None:
    """The engine for ``args.config``, or None after printing every problem to stderr.

    Logs go to stderr at ``$FALCO_RESPONSE_LOG_LEVEL``, else the config's ``log_level``
    (``error`` when ``quiet``, for commands whose output is a table for a person);
    ``startup_level`` applies while the config loads. ``plugins`` are extra hook objects
    (the server's metrics).
    """
    path = config_path(args)
    if path is None:
        return None
    level = os.environ.get(LOG_LEVEL_ENV)
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


def printable(text: Any, limit: int = 0) -> str:
    """Text safe for a terminal: control characters (ANSI escapes) shown as escapes."""
    value = "" if text is None else str(text)
    if limit and len(value) > limit:
        value = value[: limit - 1] + "…"
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in value)
