"""``falco-response audit``: what the engine did, and why, from the state store's trail."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import msgspec

from ..audit import target_matches
from ..state.base import NoSuchStore
from ..schema import parse_duration
from . import EXIT_CONFIG, EXIT_MISSING, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE
from .common import add_config_option, missing_extra, printable, store_url


def add_parser(subparsers: Any) -> None:
    audit = subparsers.add_parser(
        "audit", help="show the audit trail: every outcome, with its alert and reason",
        description="Answer 'why was this pod deleted?': the outcomes recorded in the state "
                    "store (settings.store), newest last.")
    add_config_option(audit)
    audit.add_argument("--store", help="state store URL (default: the config's settings.store)")
    audit.add_argument("--since", default="24h", help="how far back (e.g. 30m, 1h, 7d; "
                       "default 24h)")
    audit.add_argument("--target", help="only this target: ns/pod, pod:ns/pod or node:name")
    audit.add_argument("--status", choices=["ok", "skipped", "dry_run", "failed", "pending",
                                            "decided:approve", "decided:deny",
                                            "decided:timeout"],
                       help="only outcomes with this status")
    audit.add_argument("--limit", type=int, default=1000, help="at most this many (newest)")
    audit.add_argument("--json", action="store_true", help="one JSON object per record")
    audit.set_defaults(func=run_audit)


def _store(args: argparse.Namespace) -> Any:
    """The store, opened read-only: a typo names no store, it never creates one."""
    from ..state import StoreError, open_store

    url = store_url(args)
    if url is None:
        return None
    try:
        return open_store(url, read_only=True)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc


def run_audit(args: argparse.Namespace) -> int:
    try:
        since = parse_duration(args.since)
    except ValueError as exc:
        print(f"error: --since: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        store = _store(args)
    except ValueError as exc:
        print(f"error: --store: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ImportError as exc:
        missing_extra("a dynamodb:// store", "aws", exc)
        return EXIT_MISSING
    if store is None or isinstance(store, NoSuchStore):
        return EXIT_CONFIG
    if isinstance(store, Exception):  # it exists but cannot be reached now
        return EXIT_PARTIAL
    since_ns = time.time_ns() - int(since * 1e9)
    from ..state import StoreError

    try:
        history = store.history(since_ns)
    except StoreError as exc:  # opened, then could not be read: the store is down
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PARTIAL
    records = [r for r in history
               if (args.target is None or target_matches(r, args.target))
               and (args.status is None or r.status == args.status)][-args.limit:]
    if args.json:
        for record in records:
            sys.stdout.buffer.write(msgspec.json.encode(record.to_dict()) + b"\n")
        return EXIT_OK
    for r in records:
        when = r.to_dict()["time"]
        flag = (" (dry run)" if r.dry_run else "") + (f" by {r.by}" if r.by else "")
        print(printable(f"{when}  {r.id or '-':<12} {r.status:<8} {r.target or '-':<30} {r.response}/{r.action}"
                        f"{flag}: {r.reason or ''}"))
        print(printable(f"    alert: {r.rule} [{r.priority}] uuid={r.uuid or '-'} "
                        f"host={r.hostname or '-'}"
                        + (f" approval={r.approval}" if r.approval else ""), 300))
    print(f"{len(records)} record(s) since {args.since} ago")
    return EXIT_OK
