"""The ``falco-response`` command. Each subcommand lives in its own module here and exposes
``add_parser(subparsers)``; the module list below is the whole command set.

Exit codes (docs/cli.md): 0 success; 1 some input was unreadable or some action failed;
2 usage error (an option, argument or file named on the command line is wrong); 3 the config,
a plugin or a ``FALCO_RESPONSE_*`` / AWS setting could not be used; 4 the queue file of
``serve`` is corrupt (with ``--queue-recover=refuse``) or cannot be opened; 5 a part the
command needs is not installed (an extra); 141 stdout was closed early (``| head``), stopped
quietly. Every error is one line on stderr that says what is wrong and how to fix it.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from ..loading import EXIT_CONFIG as EXIT_CONFIG

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2
EXIT_QUEUE = 4
EXIT_MISSING = 5  # an extra is not installed
EXIT_BROKEN_PIPE = 141  # what a shell reports for a process stopped by SIGPIPE

COMMAND_MODULES = ("alerts", "inspect", "audit", "undo", "approvals", "serve", "consume",
                   "lambda_package", "sns_policy", "new_plugin", "dead_letters", "containment",
                   "console")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="falco-response",
        description="Respond to Falco alerts: notify people and contain threats.",
        epilog="Exit codes: 0 ok, 1 unreadable input or a failed action, 2 usage error, "
               "3 config, plugin or environment setting error, 4 unusable queue file (serve), "
               "5 an extra is not installed, 141 output closed early.",
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
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`falco-response schema | head`): stop quietly, as other
        # tools do, and keep Python from reporting the failed flush at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = EXIT_BROKEN_PIPE
    sys.exit(code)
