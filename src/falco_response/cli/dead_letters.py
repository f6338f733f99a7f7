"""``dead-letters list|redrive|drop --queue PATH``: the alerts ``serve`` could not handle.

An alert whose handling kept raising is kept in the queue file's dead-letter table (see
:mod:`falco_response.server.dead_letters`). ``redrive`` marks rows for the queue's owner
(the running server, or the next to start) to take back within a second; ``drop`` deletes.
Only the standard library is needed: this works where the server extra is not installed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sqlite3
import sys
from typing import Any

from . import EXIT_OK, EXIT_QUEUE, EXIT_USAGE
from .common import printable


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dead-letters", help="list, redrive or drop the alerts serve could not handle",
        description="The dead-letter table of serve's queue file: alerts whose handling "
                    "raised on every try. redrive puts them back into the queue (the running "
                    "server takes them within a second, else the next start); drop deletes.")
    parser.add_argument("what", choices=["list", "redrive", "drop"])
    parser.add_argument("ids", nargs="*", type=int, metavar="ID",
                        help="dead letters to redrive or drop (see list)")
    parser.add_argument("--all", action="store_true", help="redrive or drop every one")
    parser.add_argument("--queue", default=os.environ.get("FALCO_RESPONSE_QUEUE",
                                                          "falco-response-queue.db"),
                        metavar="PATH", help="the SQLite queue file of serve "
                                             "($FALCO_RESPONSE_QUEUE)")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per line (list), or a JSON summary")
    parser.set_defaults(func=run_dead_letters)


def _when(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat(
        timespec="seconds").replace("+00:00", "Z")


def run_dead_letters(args: argparse.Namespace) -> int:
    from ..server import dead_letters

    if args.what == "list" and (args.ids or args.all):
        print("error: list takes no ids", file=sys.stderr)
        return EXIT_USAGE
    if args.what != "list" and bool(args.ids) == bool(args.all):
        print(f"error: {args.what} needs dead-letter ids or --all", file=sys.stderr)
        return EXIT_USAGE
    if not os.path.isfile(args.queue):
        print(f"error: no queue file at {args.queue}", file=sys.stderr)
        return EXIT_USAGE
    try:
        db = dead_letters.open_file(args.queue)
        try:
            if args.what == "list":
                return _list(dead_letters.listed(db), args.json)
            ids = None if args.all else args.ids
            if args.what == "redrive":
                count = dead_letters.mark_redrive(db, ids)
                done = "marked for redrive (the server takes them within a second, or at " \
                       "its next start)"
            else:
                count = dead_letters.drop(db, ids)
                done = "dropped"
        finally:
            db.close()
    except sqlite3.Error as exc:
        print(f"error: the queue file {args.queue}: {exc}", file=sys.stderr)
        return EXIT_QUEUE
    if args.json:
        print(json.dumps({args.what: count}))
    else:
        print(f"{count} dead letter{'s' if count != 1 else ''} {done}")
    return EXIT_OK


def _list(rows: list[Any], as_json: bool) -> int:
    from ..server import queued

    if as_json:
        for row in rows:
            print(json.dumps({"id": row.id, "item": row.item, "received": _when(row.received),
                              "failed": _when(row.failed), "attempts": row.attempts,
                              "error": row.error, "redrive": row.redrive,
                              "body": queued.readable(row.body)}))
        return EXIT_OK
    if not rows:
        print("no dead letters")
        return EXIT_OK
    print(f"{'ID':>6}  {'FAILED':20}  {'TRIES':>5}  {'STATE':8}  ERROR")
    for row in rows:
        state = "redrive" if row.redrive else "dead"
        print(f"{row.id:>6}  {_when(row.failed):20}  {row.attempts:>5}  {state:8}  "
              f"{printable(row.error, 100)}")
    return EXIT_OK
