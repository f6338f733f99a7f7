"""``check CONFIG``, ``plugins`` and ``schema``: look at a setup without running it."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from ..config import load_config
from ..errors import ConfigError, PluginError
from ..plugins import Plugins, build_plugin_manager
from ..schema import json_schema
from . import EXIT_CONFIG, EXIT_OK, EXIT_USAGE
from .common import CONFIG_ENV, config_path


def add_parser(subparsers: Any) -> None:
    check = subparsers.add_parser("check", help="validate a config file and report every problem")
    check.add_argument("file", nargs="?", metavar="CONFIG",
                       help="the config file (or -c/--config FILE, as every other command)")
    check.add_argument("-c", "--config", default=None,
                       help=f"config file (default: ${CONFIG_ENV})")
    check.set_defaults(func=run_check)

    plugins = subparsers.add_parser("plugins", help="list installed plugins and action types")
    plugins.add_argument("--json", action="store_true", help="machine-readable output")
    plugins.set_defaults(func=run_plugins)

    schema = subparsers.add_parser(
        "schema", help="print the config's JSON Schema (for editors and CI checks)")
    schema.set_defaults(func=run_schema)


def _plugins() -> Plugins | None:
    try:
        return build_plugin_manager()
    except PluginError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def run_check(args: argparse.Namespace) -> int:
    if args.file and args.config and args.file != args.config:
        print(f"error: two configs named ({args.file} and {args.config}): name one, as "
              "CONFIG or -c/--config CONFIG", file=sys.stderr)
        return EXIT_USAGE
    args.config = args.file or args.config or os.environ.get(CONFIG_ENV)
    if config_path(args) is None:
        return EXIT_CONFIG
    plugins = _plugins()
    if plugins is None:
        return EXIT_CONFIG
    try:
        config = load_config(args.config, plugins.actions)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) in {args.config}", file=sys.stderr)
        return EXIT_CONFIG
    actions = {a.name for r in config.responses for a in r.actions}
    print(f"{args.config}: ok: {len(config.responses)} responses, {len(actions)} actions"
          + (f", destructive: {', '.join(config.destructive_actions)}"
             if config.destructive_actions else ""))
    return EXIT_OK


def run_plugins(args: argparse.Namespace) -> int:
    plugins = _plugins()
    if plugins is None:
        return EXIT_CONFIG
    types = [{"type": t.name, "plugin": t.plugin, "destructive": t.destructive,
              "summary": t.summary, "permissions": list(t.permissions)}
             for t in plugins.actions]
    if args.json:
        print(json.dumps({"plugins": plugins.names(), "distributions": dict(
            plugins.distributions()), "action_types": types}, indent=2))
        return EXIT_OK
    print("plugins:")
    dists = dict(plugins.distributions())
    for name in plugins.names():
        print(f"  {name}" + (f"  ({dists[name]})" if name in dists else ""))
    print("action types:")
    for t in types:
        flag = "  [destructive]" if t["destructive"] else ""
        print(f"  {t['type']:<16} {t['summary']}{flag}  (from {t['plugin']})")
    return EXIT_OK


def run_schema(args: argparse.Namespace) -> int:
    plugins = _plugins()
    if plugins is None:
        return EXIT_CONFIG
    schema = json_schema({t.name: t.params for t in plugins.actions})
    print(json.dumps(schema, indent=2, sort_keys=True))
    return EXIT_OK
