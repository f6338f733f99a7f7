"""``falco-response pause|resume``: the containment switch (see ``containment.py``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from . import EXIT_CONFIG, EXIT_OK, EXIT_USAGE
from .common import add_config_option, printable, store_url
from .undo import _who


def add_parser(subparsers: Any) -> None:
    for name, helptext in (("pause", "pause destructive actions (all, or one action type) "
                            "on every replica sharing the store"),
                           ("resume", "lift a pause set by `falco-response pause`")):
        command = subparsers.add_parser(
            name, help=helptext,
            description=helptext[0].upper() + helptext[1:] + ". Engines read the switch "
                        "from the state store at most 2 s late; while paused, destructive "
                        "actions are skipped and notifications still go out.")
        add_config_option(command)
        command.add_argument("--store", help="state store URL (default: the config's "
                             "settings.store)")
        command.add_argument("--type", dest="scope", default="*", metavar="TYPE",
                             help="only this action type (e.g. delete-pod); default: all")
        command.add_argument("--reason", required=name == "pause",
                             help="why (shown in every skipped outcome)")
        command.add_argument("--as", dest="by", default=None,
                             help="who (recorded with the pause; default: $USER)")
        command.set_defaults(func=run_switch, resume=name == "resume")


def existing_store(url: str) -> Any:
    """The store ``url`` names, for writing, but only if it exists already: a pause written
    to a mistyped path would stop nothing. Raises ``ValueError`` and ``StoreError``."""
    from ..state import open_store

    open_store(url, read_only=True).close()
    return open_store(url)


def _store(args: argparse.Namespace) -> Any:
    from ..state import StoreError

    url = store_url(args)
    if url is None:
        return None
    try:
        return existing_store(url)
    except StoreError as exc:
        print(f"error: {exc} (engines create the store when they start)", file=sys.stderr)
        return None


def run_switch(args: argparse.Namespace) -> int:
    from .. import containment
    from ..state import StoreError

    try:
        store = _store(args)
    except ValueError as exc:
        print(f"error: --store: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if store is None:
        return EXIT_CONFIG
    try:
        if args.resume:
            containment.resume(store, args.scope)
        else:
            containment.pause(store, args.scope, by=_who(args), reason=args.reason)
        pauses = store.pauses()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    finally:
        store.close()
    if not pauses:
        print("containment running: no pause in force")
    for pause in sorted(pauses.values(), key=lambda p: p.scope):
        print(printable(pause.sentence()))
    return EXIT_OK
