"""``handle`` (Falco's program_output: JSON lines on stdin) and ``replay FILE``."""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import sys
from collections.abc import Iterable, Iterator
from typing import IO, Any

import msgspec

from ..config import Config
from ..engine import default_logger, forced_dry_run
from ..loading import StoreChoice
from ..outcome import Result
from ..state import NoSuchStore, StateStore, StoreError
from ..state.memory import MemoryStore
from . import EXIT_CONFIG, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE
from .common import add_config_option, load_engine, printable

_encode = msgspec.json.Encoder().encode


def add_parser(subparsers: Any) -> None:
    handle = subparsers.add_parser(
        "handle", help="handle JSON-lines alerts from stdin (Falco program_output)",
        description="Read one alert per line from stdin, act on it, print one JSON object per "
                    "alert on stdout. A bad line is reported on stderr with its number; the "
                    "rest go on.")
    add_config_option(handle)
    handle.add_argument("--dry-run", action="store_true", help="act on nothing; say what "
                        "each action would do")
    handle.set_defaults(func=run_handle)

    replay = subparsers.add_parser(
        "replay", help="replay alerts from a JSON-lines file and show what each response did",
        description="Replay alerts from a JSON-lines file (- for stdin).")
    replay.add_argument("file", help="JSON-lines file of alerts, or - for stdin")
    add_config_option(replay)
    replay.add_argument("--dry-run", action="store_true", help="act on nothing; say what "
                        "each action would do")
    replay.add_argument("--json", action="store_true", help="one JSON object per alert")
    replay.add_argument("--store", metavar="URL", help="state store for a live replay: "
                        "required when the config names one (settings.store), so a live "
                        "replay shares production's cooldowns, limits and audit trail only "
                        "when asked to; memory:// keeps them private")
    replay.set_defaults(func=run_replay)


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(stream, start=1):
        if line.strip():
            yield number, line


def _results(engine: Any, lines: Iterable[tuple[int, bytes]]
             ) -> Iterator[tuple[int, Result]]:
    for number, line in lines:
        for result in engine.handle(line):
            yield number, result


def _report(number: int, result: Result) -> dict[str, Any]:
    data = result.to_dict()
    if result.error is not None:
        data["line"] = number
    return data


class LineLogger:
    """The engine's logger for ``handle`` and ``replay`` (given when it is built): every
    event carries the number of the line being handled, set by the loop that reads them, so
    a bad line is reported once on stderr, by the engine's ``unreadable message`` event."""

    def __init__(self, base: Any) -> None:
        self.base = base
        self.line: int | None = None

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.base, name)
        line = self.line
        if line is None or name == "bind" or not callable(method):
            return method
        return functools.partial(method, line=line)


def _numbered(log: LineLogger, lines: Iterable[tuple[int, bytes]]
              ) -> Iterator[tuple[int, bytes]]:
    for number, line in lines:
        log.line = number
        yield number, line
    log.line = None


def run_handle(args: argparse.Namespace) -> int:
    log = LineLogger(default_logger())
    # A what-if from the command line writes nothing shared.
    engine = load_engine(args, dry_run=args.dry_run, logger=log,
                         store=dry_store if args.dry_run else None)
    if engine is None:
        return EXIT_CONFIG
    code = EXIT_OK
    out = sys.stdout.buffer
    for number, result in _results(engine, _numbered(log, _lines(sys.stdin.buffer))):
        if not result.ok:
            code = EXIT_PARTIAL
        out.write(_encode(_report(number, result)) + b"\n")
        out.flush()
    return code


COLUMNS = (("LINE", 5), ("RULE", 34), ("PRIORITY", 9), ("RESPONSE", 22), ("ACTION", 16),
           ("STATUS", 8), ("TARGET", 26), ("REASON", 0))
# Narrowest each column gets on a small terminal; LINE and TARGET are never cut (the line
# number is how a user finds a bad line, the target is what was acted on), REASON is cut first.
NARROW = {"LINE": 5, "RULE": 12, "PRIORITY": 8, "RESPONSE": 10, "ACTION": 8, "STATUS": 8,
          "TARGET": 12, "REASON": 8}
UNCUT = {"LINE", "TARGET"}


def table_width() -> int | None:
    """The terminal's width (``$COLUMNS`` first), or None when stdout is not a terminal and
    ``$COLUMNS`` is unset: then nothing is cut to fit."""
    if os.environ.get("COLUMNS", "").strip().isdigit() or sys.stdout.isatty():
        return shutil.get_terminal_size((120, 24)).columns
    return None


class Table:
    """Rows that fit ``width`` columns: REASON is truncated to what is left."""

    def __init__(self, width: int | None) -> None:
        self.width = width
        self.widths = dict(COLUMNS)
        self.gap = "  "
        wide = sum(w for _, w in COLUMNS) + 2 * len(COLUMNS) + 20
        if width is not None and width < wide:
            self.widths, self.gap = dict(NARROW), " "
            # Room beyond the narrow layout and a 30-column reason goes to the named columns.
            spare = width - sum(NARROW.values()) - len(COLUMNS) - 30
            full = dict(COLUMNS)
            for name in ("RULE", "RESPONSE", "ACTION", "TARGET", "PRIORITY"):
                grow = max(0, min(spare, full[name] - NARROW[name]))
                self.widths[name] += grow
                spare -= grow

    def row(self, values: Iterable[Any]) -> str:
        cells = []
        used = 0
        for (name, _), value in zip(COLUMNS, values):
            width = self.widths[name]
            if name == "REASON":
                room = 160 if self.width is None else max(NARROW["REASON"], self.width - used)
                cells.append(printable(value, room))
                break
            text = printable(value) if name in UNCUT else printable(value, width)
            cell = text.ljust(width)
            cells.append(cell)
            used += len(cell) + len(self.gap)
        return self.gap.join(cells).rstrip()


def dry_store(config: Config) -> StoreChoice:
    """A what-if run writes nothing shared: the config's store is opened read-only (a store
    that does not exist yet holds nothing: a private memory:// stands in) and no audit
    record is written."""
    from ..state import UnavailableStore, open_store
    from ..state.memory import MemoryStore

    url = config.settings.store
    if not url or url.startswith("memory:"):
        return StoreChoice(audit_dry_runs=False)
    store: StateStore
    try:
        store = open_store(url, read_only=True)
    except StoreError as exc:
        store = (MemoryStore() if isinstance(exc, NoSuchStore)
                 else UnavailableStore(url.partition("?")[0], str(exc)))
    except ValueError as exc:
        store = UnavailableStore(url.partition("?")[0], f"store URL: {exc}")
    return StoreChoice(store, audit_dry_runs=False)


class ReplayStore:
    """replay's store, chosen once the config is read. A dry replay reads the config's store
    (cooldowns and limits say what would happen) and writes nothing. A live replay acts for
    real, so it must say which store it shares: the config's own (named again with --store)
    or a private memory://. ``refused`` says why a replay may not run."""

    def __init__(self, url: str | None, dry_run: bool) -> None:
        self.url = url
        self.dry_run = dry_run
        self.refused: str | None = None

    def __call__(self, config: Config) -> StoreChoice:
        configured = config.settings.store
        if self.url:
            from ..state import UnavailableStore, open_store

            try:
                return StoreChoice(open_store(self.url))
            except ValueError as exc:
                self.refused = f"--store: {exc}"
            except StoreError as exc:  # acted on like any store failure: fail closed, notify
                return StoreChoice(UnavailableStore(self.url.partition("?")[0], str(exc)))
        elif self.dry_run or forced_dry_run() or config.settings.dry_run:
            return dry_store(config)
        elif configured and not configured.startswith("memory:"):
            self.refused = (
                f"the config's settings.store is {configured.partition('?')[0]}: a live "
                "replay acts for real and would share its cooldowns, limits and audit trail; "
                f"pass --store {configured.partition('?')[0]} to do that, --store memory:// to "
                "keep them private, or --dry-run")
        # Refused: a private memory store, so building the engine touches nothing shared.
        return StoreChoice(None if self.refused is None else MemoryStore())


def run_replay(args: argparse.Namespace) -> int:
    choice = ReplayStore(args.store, args.dry_run)
    engine = load_engine(args, dry_run=args.dry_run, quiet=True, store=choice)
    if engine is None:
        return EXIT_CONFIG
    if choice.refused is not None:
        engine.close()
        print(f"error: {choice.refused}", file=sys.stderr)
        return EXIT_USAGE
    try:
        stream = sys.stdin.buffer if args.file == "-" else open(args.file, "rb")  # noqa: SIM115
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror} (name a JSON-lines file of "
              "alerts, or - for stdin)", file=sys.stderr)
        return EXIT_USAGE
    code = EXIT_OK
    counts = {"alerts": 0, "matched": 0, "unreadable": 0}
    table = Table(table_width())
    with stream:
        if not args.json:
            print(table.row(name for name, _ in COLUMNS))
        for number, result in _results(engine, _lines(stream)):
            if not result.ok:
                code = EXIT_PARTIAL
            if args.json:
                sys.stdout.buffer.write(_encode(_report(number, result)) + b"\n")
                continue
            _print_rows(table, number, result, counts)
    if not args.json:
        mode = "dry run" if engine.dry_run else "live"
        print(f"\n{counts['alerts']} alerts, {counts['matched']} matched a response, "
              f"{counts['unreadable']} unreadable ({mode})")
    return code


def _print_rows(table: Table, number: int, result: Result, counts: dict[str, int]) -> None:
    if result.alert is None:
        counts["unreadable"] += 1
        print(table.row((number, "-", "-", "-", "-", "error", "-", result.error)))
        return
    counts["alerts"] += 1
    alert = result.alert
    if result.dropped:
        print(table.row((number, alert.rule, alert.priority.label, "-", "-", "dropped", "-",
                    result.dropped)))
    elif not result.outcomes:
        print(table.row((number, alert.rule, alert.priority.label, "-", "-", "-", "-",
                    "no response matched")))
    else:
        counts["matched"] += 1
        for o in result.outcomes:
            print(table.row((number, alert.rule, alert.priority.label, o.response, o.action,
                        o.status.value, o.target or "-", o.reason or "")))
