"""The docs a new user follows first: the sample output is what the command prints today, and
every install line works from a clone (nothing asks the index for an unpublished name)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from .docs_blocks import DOCS, ROOT, block

PAGES = [*sorted(DOCS.rglob("*.md")), ROOT / "README.md", *sorted(ROOT.glob("plugins/*/README.md"))]
# The two places that name the index on purpose: how names map after a release, and the
# plugin tutorial's publishing step.
MAPPING = {DOCS / "getting-started.md": "After a release, the same names come from the index",
           DOCS / "tutorials" / "plugin.md": "Users `pip install falco-response-open-ticket`"}
INSTALL = re.compile(r"pip install ([^`\n]*)")


def test_the_getting_started_table_is_what_replay_prints() -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FALCO_RESPONSE_") and k != "COLUMNS"}
    done = subprocess.run(
        [sys.executable, "-m", "falco_response", "replay", "examples/alerts.jsonl",
         "--config", "examples/falco-response.yaml", "--dry-run"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert block("getting-started.md", "text") == done.stdout


def test_no_install_line_asks_the_index_for_an_unpublished_name() -> None:
    for page in PAGES:
        text = page.read_text()
        if page in MAPPING:
            text = "\n".join(line for line in text.split("\n\n")
                             if MAPPING[page] not in line)
        for args in INSTALL.findall(text):
            names = [a.strip("'\"") for a in args.split() if not a.startswith("-")]
            unpublished = [n for n in names if re.match(r"falco-response", n)]
            assert not unpublished, f"{page.relative_to(ROOT)}: pip install {args}"
            if any(n.startswith("./plugins/") for n in names):
                # A plugin alone asks the index for falco-response: the core comes first.
                assert names[0] in (".", ".[server]", ".[aws]"), f"{page}: pip install {args}"
            assert not any("[" in a and a[0] not in "'\"" for a in args.split()), \
                f"{page.relative_to(ROOT)}: quote extras for zsh: pip install {args}"


def test_the_index_mapping_is_said_once() -> None:
    said = [p for p in PAGES if "names come from the index" in p.read_text()
            or "map to the index" in p.read_text()]
    assert DOCS / "getting-started.md" in said
    for page in said:
        if page != DOCS / "getting-started.md":
            assert "getting-started.md#installing" in page.read_text(), page
