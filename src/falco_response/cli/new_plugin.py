"""``new-plugin NAME``: a working, tested plugin distribution from the repository's template.

The template (``plugins/_template/`` of the repository, shipped in the wheel as the package
data ``falco_response/plugin_template``) is plain files with two
placeholders: ``__NAME__`` (the action type and entry-point name, e.g. ``quarantine``) and
``__MODULE__`` (the import name, ``falco_response_quarantine``), in file contents and paths.
No template engine: the name is checked against a strict pattern and substituted as text.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from . import EXIT_OK, EXIT_USAGE

NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
TEMPLATE = Path(__file__).resolve().parents[1] / "plugin_template"
"""The template inside the installed package (a link to plugins/_template in a checkout)."""
SKIP = {"__pycache__", "build", "dist", ".pytest_cache"}


def add_parser(subparsers: Any) -> None:
    new = subparsers.add_parser(
        "new-plugin", help="create a plugin distribution (action type, tests, README) to edit",
        description="Create falco-response-NAME/ with pyproject.toml (entry point), "
                    "src/falco_response_NAME/ (an action type named NAME), tests/ and a "
                    "README, from the template shipped with falco-response.")
    new.add_argument("name", help="the action type's name: lowercase letters, digits and "
                                  "single hyphens (e.g. quarantine, open-ticket)")
    new.add_argument("--dir", default=".", metavar="DIR",
                     help="where to create falco-response-NAME/ (default: the current "
                          "directory)")
    new.add_argument("--template", metavar="DIR",
                     help="the template directory (default: the one shipped with "
                          "falco-response)")
    new.set_defaults(func=run_new_plugin)


def find_template(explicit: str | None) -> Path | None:
    if explicit:
        path = Path(explicit)
        return path if (path / "pyproject.toml").is_file() else None
    return TEMPLATE if (TEMPLATE / "pyproject.toml").is_file() else None


def taken_by(name: str) -> str | None:
    """What already uses ``name`` (a built-in or installed action type, plugin or
    distribution), or None."""
    from importlib import metadata

    from ..errors import PluginError
    from ..plugins import build_plugin_manager

    try:
        plugins = build_plugin_manager()
    except PluginError:
        plugins = build_plugin_manager(entry_points=False)
    for action in plugins.actions:
        if action.name == name:
            where = "built in" if action.plugin.startswith("falco_response.") else \
                f"installed, from {action.plugin}"
            return f"an action type ({where})"
    if name in plugins.names():
        return "the name of an installed plugin"
    try:
        metadata.distribution(f"falco-response-{name}")
    except metadata.PackageNotFoundError:
        return None
    return f"an installed distribution (falco-response-{name})"


def render(text: str, name: str, module: str) -> str:
    return text.replace("__MODULE__", module).replace("__NAME__", name)


def create(name: str, into: Path, template: Path) -> Path:
    """Copy the template to ``into/falco-response-NAME`` with the placeholders replaced."""
    module = "falco_response_" + name.replace("-", "_")
    dest = into / f"falco-response-{name}"
    if dest.exists():
        raise FileExistsError(f"{dest} already exists")
    for source in sorted(template.rglob("*")):
        relative = source.relative_to(template)
        if SKIP.intersection(relative.parts) or source.suffix == ".pyc" or \
                any(p.endswith(".egg-info") for p in relative.parts):
            continue
        target = dest / render(str(relative), name, module)
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(source.read_text(encoding="utf-8"), name, module),
                          encoding="utf-8")
    return dest


def run_new_plugin(args: argparse.Namespace) -> int:
    if not NAME_PATTERN.fullmatch(args.name):
        print(f"error: {args.name!r} is not a valid name: use lowercase letters, digits and "
              "single hyphens, starting with a letter (e.g. open-ticket)", file=sys.stderr)
        return EXIT_USAGE
    taken = taken_by(args.name)
    if taken:
        print(f"error: {args.name!r} is already {taken}: a second one would stop every command "
              f"loading its plugins; pick another name (e.g. my-{args.name})", file=sys.stderr)
        return EXIT_USAGE
    template = find_template(args.template)
    if template is None:
        print("error: plugin template not found (this falco-response install lacks its "
              "package data): pass --template path/to/falco-response/plugins/_template",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        dest = create(args.name, Path(args.dir), template)
    except (FileExistsError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"created {dest}\n"
          f"next: pip install -e '{dest}[test]' && pytest {dest / 'tests'}")
    return EXIT_OK
