"""``falco-response undo AUDIT_ID``: reverse one recorded action (see ``undo.py``)."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

import msgspec

from . import EXIT_CONFIG, EXIT_OK, EXIT_PARTIAL
from .common import add_config_option, load_engine, printable


def add_parser(subparsers: Any) -> None:
    undo = subparsers.add_parser(
        "undo", help="reverse one recorded action (isolate, cordon, taint, scale, label)",
        description="Reverse the action an audit record names (the id `falco-response audit "
                    "--json` shows). Refuses, changing nothing, when the action cannot be "
                    "undone (a deleted pod) or the object changed since.")
    add_config_option(undo)
    undo.add_argument("audit_id", metavar="AUDIT_ID", help="the audit record's id")
    undo.add_argument("--dry-run", action="store_true", help="say what would be restored")
    undo.add_argument("--as", dest="by", default=None,
                      help="who is undoing (recorded in the audit trail; default: $USER)")
    undo.add_argument("--json", action="store_true", help="print the outcome as JSON")
    undo.set_defaults(func=run_undo)


def _who(args: argparse.Namespace) -> str:
    if args.by:
        return str(args.by)
    try:
        return getpass.getuser()
    except Exception:  # no user name in a bare container
        return "unknown"


def run_undo(args: argparse.Namespace) -> int:
    from ..outcome import Status
    from ..undo import UndoNotFound, undo

    engine = load_engine(args, quiet=True)
    if engine is None:
        return EXIT_CONFIG
    if not engine.config.settings.store:
        print("error: the config names no settings.store: undo reads the audit trail there",
              file=sys.stderr)
        return EXIT_CONFIG
    try:
        outcome, record = undo(engine, args.audit_id, dry_run=args.dry_run, by=_who(args))
    except UndoNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PARTIAL
    finally:
        engine.close()
    if args.json:
        data = {**outcome.to_dict(), "type": outcome.type, "of": record.id}
        sys.stdout.buffer.write(msgspec.json.encode(data) + b"\n")
    else:
        print(printable(f"{outcome.status.value:<8} {outcome.target or '-'} "
                        f"{record.response}/{record.action} ({record.type}): "
                        f"{outcome.reason or ''}"))
    good = (Status.OK, Status.DRY_RUN)
    return EXIT_OK if outcome.status in good else EXIT_PARTIAL
