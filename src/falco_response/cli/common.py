"""What several commands share: the ``--config`` option and building an engine from it."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Sequence
from typing import Any

from .. import environment, loading
from ..engine import Engine
from ..outline import Outline
from ..logs import LEVELS

CONFIG_ENV = environment.CONFIG
LOG_LEVEL_ENV = environment.LOG_LEVEL


def error(message: str) -> None:
    """One line on stderr: what is wrong and how to fix it."""
    print(f"error: {message}", file=sys.stderr)


def missing_extra(command: str, extra: str, exc: ImportError) -> None:
    """The one-line error for a command whose extra is not installed."""
    error(f"{command} needs the {extra!r} extra ({exc.name or exc} is not installed): "
          f"pip install 'falco-response[{extra}]' (from a clone: pip install '.[{extra}]')")


def require(*modules: str) -> None:
    """Raise ModuleNotFoundError for the first of ``modules`` that is not installed (found
    without importing it), so a missing extra is reported before anything starts."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise ModuleNotFoundError(f"No module named {module!r}", name=module)


def log_level() -> str | None:
    """``$FALCO_RESPONSE_LOG_LEVEL``, checked; raises ValueError naming the valid levels."""
    level = (os.environ.get(LOG_LEVEL_ENV) or "").strip().lower() or None
    if level is not None and level not in LEVELS:
        raise ValueError(f"{LOG_LEVEL_ENV}={level!r} is not a log level: use one of "
                         f"{', '.join(LEVELS)} (or unset it)")
    return level


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", default=os.environ.get(CONFIG_ENV),
                        help=f"config file (default: ${CONFIG_ENV})")


def config_path(args: argparse.Namespace) -> str | None:
    if not args.config:
        print(f"falco-response: no config: pass --config or set {CONFIG_ENV}", file=sys.stderr)
        return None
    return str(args.config)


def _config_and_level(args: argparse.Namespace) -> tuple[str, str | None] | None:
    """The config path and the log level, or None after printing why not."""
    path = config_path(args)
    if path is None:
        return None
    try:
        return path, log_level()
    except ValueError as exc:
        error(str(exc))
        return None


def load_engine(args: argparse.Namespace, *, dry_run: bool = False, quiet: bool = False,
                plugins: Sequence[Any] = (), startup_level: str = "warning",
                logger: Any = None, store: loading.StoreFor | None = None) -> Engine | None:
    """The engine for ``args.config`` (see :func:`falco_response.loading.load_engine`), or
    None after printing every problem (no config given, a bad config) to stderr."""
    found = _config_and_level(args)
    if found is None:
        return None
    path, level = found
    return loading.load_engine(path, dry_run=dry_run, quiet=quiet, plugins=plugins,
                               startup_level=startup_level, level=level, logger=logger,
                               store=store)


def store_url(args: argparse.Namespace) -> str | None:
    """The state store a command reads: ``--store``, else the config's ``settings.store``;
    None after printing why there is none (a bad config, or one that names no store)."""
    if args.store:
        return str(args.store)
    engine = load_engine(args, quiet=True)
    if engine is None:
        return None
    url = engine.config.settings.store
    engine.close()
    if not url:
        error("the config names no settings.store (pass --store URL)")
        return None
    return url


def load_outline(args: argparse.Namespace, *, startup_level: str = "warning") -> Outline | None:
    """What ``serve``'s intake needs of ``args.config`` (see
    :func:`falco_response.loading.load_outline`), or None after printing every problem."""
    found = _config_and_level(args)
    if found is None:
        return None
    path, level = found
    return loading.load_outline(path, startup_level=startup_level, level=level)


def printable(text: Any, limit: int = 0) -> str:
    """Text safe for a terminal: control characters (ANSI escapes) shown as escapes."""
    value = "" if text is None else str(text)
    if limit and len(value) > limit:
        value = value[: limit - 1] + "…"
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in value)
