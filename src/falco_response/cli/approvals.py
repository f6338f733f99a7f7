"""``falco-response approvals``, ``approve ID --as NAME``, ``deny ID --as NAME``: approvals
from the command line, for operators who can reach the state store. A decision here is
recorded as ``cli:NAME`` and carried out at once by this process (same checks as a click)."""

from __future__ import annotations

import argparse
import re
import sys
import time
from typing import Any

import msgspec

from . import EXIT_CONFIG, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE
from .common import add_config_option, load_engine, printable

_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


def add_parser(subparsers: Any) -> None:
    listing = subparsers.add_parser(
        "approvals", help="list approval requests (pending by default)",
        description="The approval requests in the state store (settings.store): pending ones, "
                    "or all with --all.")
    add_config_option(listing)
    listing.add_argument("--all", action="store_true", help="also decided and expired ones")
    listing.add_argument("--json", action="store_true", help="one JSON object per request")
    listing.set_defaults(func=run_list)
    for verb, text in (("approve", "approve a pending request and run its action now"),
                       ("deny", "deny a pending request (its action is skipped)")):
        sub = subparsers.add_parser(verb, help=text, description=text.capitalize() + ".")
        add_config_option(sub)
        sub.add_argument("id", help="the approval id (from `falco-response approvals`)")
        sub.add_argument("--as", dest="name", required=True,
                         help="who decides (recorded as cli:NAME)")
        sub.add_argument("--json", action="store_true", help="print the outcome as JSON")
        sub.set_defaults(func=run_decide, verdict=verb)


def _engine(args: argparse.Namespace) -> Any:
    engine = load_engine(args, quiet=True)
    if engine is None:
        return None
    if not engine.config.settings.store:
        print("error: the config names no settings.store: approvals live in the state store",
              file=sys.stderr)
        return None
    return engine


def _row(item: Any) -> dict[str, Any]:
    from ..approval import records

    r, d, res = item.request, item.decision, item.result
    return {"id": r.id, "state": item.state, "response": r.response, "action": r.action,
            "target": r.target, "planned": r.planned, "approvers": list(r.approvers),
            "requested": records.iso(r.created), "expires": records.iso(r.expires_at),
            "on_timeout": r.on_timeout,
            "decision": None if d is None else {"verdict": d.verdict, "by": d.by,
                                                "via": d.via, "at": records.iso(d.at)},
            "outcome": None if res is None else {"status": res.status, "reason": res.reason}}


def run_list(args: argparse.Namespace) -> int:
    from ..approval import records
    from ..state import StoreError

    engine = _engine(args)
    if engine is None:
        return EXIT_CONFIG
    try:
        items = records.listing(engine.store)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PARTIAL
    rows = [_row(i) for i in items if args.all or i.state == "pending"]
    if args.json:
        for row in rows:
            sys.stdout.buffer.write(msgspec.json.encode(row) + b"\n")
        return EXIT_OK
    for row in rows:
        left = ""
        if row["state"] == "pending":
            expires = next(i.request.expires_at for i in items if i.request.id == row["id"])
            left = f" ({max(0, int(expires - time.time()) // 60)}m left)"
        print(printable(f"{row['id']}  {row['state']:<8} {row['target'] or '-':<30} "
                        f"{row['response']}/{row['action']}{left}"))
        print(printable(f"    planned: {row['planned']}", 300))
        if row["decision"]:
            print(printable(f"    decided: {row['decision']['verdict']} by "
                            f"{row['decision']['by']} at {row['decision']['at']}"))
        if row["outcome"]:
            print(printable(f"    outcome: {row['outcome']['status']}: "
                            f"{row['outcome']['reason']}", 300))
    print(f"{len(rows)} approval request(s){'' if args.all else ' pending'}")
    return EXIT_OK


def run_decide(args: argparse.Namespace) -> int:
    from ..approval import records
    from ..approval.execute import DecisionRefused, decide, execute
    from ..state import StoreError

    if not _NAME.match(args.name):
        print("error: --as takes a name of letters, digits and . _ @ -", file=sys.stderr)
        return EXIT_USAGE
    if not records.is_id(args.id):
        print("error: an approval id is 32 hex digits", file=sys.stderr)
        return EXIT_USAGE
    engine = _engine(args)
    if engine is None:
        return EXIT_CONFIG
    try:
        decided = decide(engine.store, args.id, args.verdict, f"cli:{args.name}", "cli",
                         check_approver=False)
        if not decided.won:
            print(f"error: {decided.message()}", file=sys.stderr)
            return EXIT_PARTIAL
        outcome = execute(engine, args.id)
    except DecisionRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE if exc.status == 404 else EXIT_PARTIAL
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PARTIAL
    if outcome is None:
        print("decision recorded; another process is carrying it out")
        return EXIT_OK
    if args.json:
        sys.stdout.buffer.write(msgspec.json.encode(outcome.to_dict()) + b"\n")
    else:
        print(printable(f"{decided.message()}\n{outcome.status.value:<8} {outcome.target or '-'}"
                        f"  {outcome.response}/{outcome.action}: {outcome.reason or ''}", 600))
    return EXIT_PARTIAL if outcome.status.value == "failed" else EXIT_OK
