"""``sns-filter-policy``: print the SNS subscription filter policy for a config.

It reads only the responses' ``match`` blocks, so it needs neither the plugins nor the secrets
the actions use: CI can generate the policy from the same file the function runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import msgspec
import yaml

from ..aws_lambda.filter_policy import SCOPES, build_policy
from ..matching import CompiledMatch, MatchError
from ..schema import MatchSpec
from . import EXIT_CONFIG, EXIT_OK
from .common import add_config_option, config_path


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sns-filter-policy",
        help="print the SNS subscription filter policy that lets through what the config acts on",
        description="Print (JSON, on stdout) the SNS subscription filter policy that admits every "
                    "alert a response of the config could match, and as few others as SNS's "
                    "limits allow. Notes on what was widened go to stderr.")
    add_config_option(parser)
    parser.add_argument("--scope", choices=sorted(SCOPES), default="attributes",
                        help="attributes: falcosidekick's default SNS messages (FilterPolicyScope "
                             "MessageAttributes); body: raw alert JSON (MessageBody). "
                             "Default: attributes")
    parser.add_argument("--compact", action="store_true", help="one line, for a CLI argument")
    parser.set_defaults(func=run)


def load_matches(path: str) -> list[tuple[str, MatchSpec]]:
    """(response name, match) for each response; raises ValueError naming the problem."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the config must be a YAML mapping")
    responses = data.get("responses") or []
    if not isinstance(responses, list):
        raise ValueError(f"{path}: responses: must be a list")
    found = []
    for i, raw in enumerate(responses):
        where = f"{path}: responses[{i}]"
        if not isinstance(raw, dict):
            raise ValueError(f"{where}: must be a mapping")
        try:
            match = msgspec.convert(raw.get("match") or {}, MatchSpec)
            CompiledMatch(match)
        except msgspec.ValidationError as exc:
            raise ValueError(f"{where}.match: {exc}") from None
        except MatchError as exc:
            raise ValueError(f"{where}.match.{exc.path}: {exc}") from None
        found.append((str(raw.get("name", f"responses[{i}]")), match))
    return found


def run(args: argparse.Namespace) -> int:
    path = config_path(args)
    if path is None:
        return EXIT_CONFIG
    try:
        result = build_policy(load_matches(path), args.scope)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"note: FilterPolicyScope: {result.scope}; {result.combinations} combinations "
          f"(SNS allows 150)" + ("" if result.filters else "; an empty policy filters nothing"),
          file=sys.stderr)
    print(result.to_json(None if args.compact else 2))
    return EXIT_OK
