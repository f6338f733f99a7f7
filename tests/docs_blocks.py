"""Code blocks of the docs that the test suite runs: each follows a marker comment
``<!-- runs in tests/...py -->`` (or ``used by`` / ``checked by``) naming the test that does."""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MARKED = re.compile(r"<!-- (runs in|used by|checked by) (\S+?)(?: against \S+)? -->\n"
                    r"[ \t]*```(\w+)\n(.*?)[ \t]*```", re.S)


class Block(NamedTuple):
    page: str        # relative to docs/
    verb: str
    test: str        # the test file that runs it
    language: str
    code: str


def marked_blocks(page: str | None = None) -> list[Block]:
    pages = [DOCS / page] if page else sorted(DOCS.rglob("*.md"))
    found = []
    for path in pages:
        for verb, test, language, code in MARKED.findall(path.read_text()):
            found.append(Block(str(path.relative_to(DOCS)), verb, test, language, code))
    return found


def block(page: str, language: str, index: int = 0) -> str:
    return [b.code for b in marked_blocks(page) if b.language == language][index]
