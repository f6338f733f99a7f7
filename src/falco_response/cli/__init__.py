"""The ``falco-response`` command. Each subcommand lives in its own module here and exposes
``add_parser(subparsers)``; the module list below is the whole command set.

Exit codes: 0 success; 1 some input was unreadable or some action failed; 2 usage error;
3 the config or a plugin could not be loaded; 4 the queue file of ``serve`` is corrupt (with
``--queue-recover=refuse``) or cannot be opened.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_CONFIG = 0, 1, 2, 3
EXIT_QUEUE = 4

COMMAND_MODULES = ("alerts", "inspect", "audit", "undo", "serve", "consume", "lambda_package",
                   "sns_policy", "new_plugin", "dead_letters")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="falco-response",
        description="Respond to Falco alerts: notify people and contain threats.",
        epilog="Exit codes: 0 ok, 1 unreadable input or a failed action, 2 usage error, "
               "3 config or plugin error, 4 unusable queue file (serve).",
    )
    parser.add_argument("--version", action="version", version=_version())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").add_parser(subparsers)
    return parser


def _version() -> str:
    from .. import __version__

    return f"falco-response {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def entry() -> None:
    sys.exit(main())
