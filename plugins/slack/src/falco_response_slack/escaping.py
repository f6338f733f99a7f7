"""Making attacker-written text safe for Slack mrkdwn, and fitting it into Slack's limits.

Every alert field is written, at least in part, by whoever runs inside the container: a
process named ``<!channel>`` must not page the whole workspace, and a file named
``<http://evil|click here>`` must not become a link. Slack has exactly three control
characters in its text format (``&``, ``<``, ``>``); escaping them turns every mention, link
and date token into plain text. Formatting characters (``*``, ``_``, ``~``, `````) cannot be
escaped in mrkdwn, so alert values are shown inside code spans (where they are not formatted)
with backticks swapped for a look-alike that cannot close the span. Text objects carrying
alert data are also sent with ``verbatim: true`` so Slack does not auto-link bare URLs,
``#channels`` or ``@here``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

TRUNCATED = " [truncated]"

# Slack's documented limits.
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
FIELDS_PER_SECTION = 10
BLOCKS_MAX = 50
HEADER_TEXT_MAX = 150
CONTEXT_ELEMENTS_MAX = 10
FALLBACK_TEXT_MAX = 3000

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_BACKTICK_LOOKALIKE = "\u02cb"  # MODIFIER LETTER GRAVE ACCENT: visible, not mrkdwn syntax


def escape(text: str) -> str:
    """Slack's three control characters as entities: mentions and links become plain text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def one_line(text: str) -> str:
    """Control characters (newlines included) as spaces: a value cannot fake extra lines."""
    return _CONTROL.sub(" ", text)


def code(text: str) -> str:
    """An alert value as an inline code span: escaped, on one line, unable to close the span."""
    return "`" + escape(one_line(text).replace("`", _BACKTICK_LOOKALIKE)) + "`"


def pre(text: str) -> str:
    """A multi-line alert text as a preformatted block that it cannot break out of."""
    body = _CONTROL.sub(lambda m: m.group(0) if m.group(0) == "\n" else " ", text)
    return "```" + escape(body.replace("`", _BACKTICK_LOOKALIKE)) + "```"


def fit(raw: str, limit: int, render: Callable[[str], str]) -> str:
    """``render(raw)``, or the longest prefix of ``raw`` whose rendering (plus a visible
    ``[truncated]``) fits ``limit``. Cutting before rendering means no entity or code span is
    ever cut in half. A binary search: escaping makes the length grow unevenly."""
    out = render(raw)
    if len(out) <= limit:
        return out
    low, high = 0, min(len(raw), limit)  # the longest prefix that fits lies in [low, high]
    while low < high:
        mid = (low + high + 1) // 2
        if len(render(raw[:mid] + TRUNCATED)) <= limit:
            low = mid
        else:
            high = mid - 1
    out = render(raw[:low] + TRUNCATED) if low else render(TRUNCATED.strip())
    return out[:limit]
