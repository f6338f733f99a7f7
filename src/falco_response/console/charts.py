"""Shapes for the Overview's SVG charts, computed here and drawn by the templates (which
escape every label: rule names and targets come from alerts)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, NamedTuple

from .records import STATUSES, Overview

WIDTH, HEIGHT = 1440, 160


class Rect(NamedTuple):
    x: float
    y: float
    w: float
    h: float
    cls: str
    title: str


def timeline(view: Overview) -> dict[str, Any]:
    """Stacked bars, one per minute of the last 24 h, one colour per status."""
    totals = [sum(view.minutes[s][m] for s in STATUSES) for m in range(1440)]
    peak = max(totals) or 1
    rects: list[Rect] = []
    for minute, total in enumerate(totals):
        if not total:
            continue
        y = float(HEIGHT)
        when = _clock(view.start_ns + minute * 60 * 10**9)
        for status in STATUSES:
            count = view.minutes[status][minute]
            if count:
                h = max(count / peak * (HEIGHT - 10), 1.0)
                y -= h
                rects.append(Rect(minute, y, 1, h, f"s-{status}", f"{when} {status}: {count}"))
    ticks = [(m, _clock(view.start_ns + m * 60 * 10**9)[11:16]) for m in range(0, 1441, 240)]
    return {"width": WIDTH, "height": HEIGHT, "rects": rects, "peak": peak, "ticks": ticks,
            "statuses": STATUSES}


def bars(items: list[tuple[str, int]]) -> dict[str, Any]:
    """Horizontal bars: (label, count, length as a share of the longest, 0..100)."""
    peak = max((count for _, count in items), default=1) or 1
    rows = [(label, count, round(count / peak * 100, 1)) for label, count in items]
    return {"rows": rows, "height": 30 * len(rows) + 4}


def _clock(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%d %H:%MZ")
