"""``package-lambda``: build the deployment zip for AWS Lambda's Python runtime."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..aws_lambda.packaging import (
    ARCHITECTURES, PYTHON_VERSIONS, PackagingError, build, describe,
)
from . import EXIT_CONFIG, EXIT_OK


def _is_checkout(root: Path) -> bool:
    pyproject = root / "pyproject.toml"
    try:
        return pyproject.is_file() and 'name = "falco-response"' in pyproject.read_text(
            encoding="utf-8")
    except OSError:
        return False


def _default_source() -> Path | None:
    """The falco-response checkout to build from: the one this command runs from (an
    editable install), else the current directory or one above it (a clone with the core
    installed from it); None outside a checkout, and then the index provides the packages."""
    here = Path(__file__).resolve().parents[3]
    cwd = Path.cwd().resolve()
    for root in (here, cwd, *cwd.parents):
        if _is_checkout(root):
            return root
    return None


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "package-lambda", help="build a deployable zip for AWS Lambda's Python runtime",
        description="Build a zip with the core, the named plugins and their dependencies as "
                    "Lambda (manylinux) wheels, the config, and byte-compiled modules. Prints "
                    "its size; fails past Lambda's 250 MB unzipped limit.")
    parser.add_argument("--plugins", default="",
                        help="comma-separated plugins: a name (plugins/<name>/ of the checkout, "
                             "else falco-response-<name> from PyPI) or a project directory")
    parser.add_argument("--config", type=Path,
                        help="config to ship as falco-response.yaml (the handler's default)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the zip to write")
    parser.add_argument("--arch", choices=ARCHITECTURES, default="x86_64",
                        help="the function's architecture (default: x86_64)")
    parser.add_argument("--python", choices=PYTHON_VERSIONS, default="3.11",
                        help="the Lambda runtime's Python (default: 3.11, the version this "
                             "tool can byte-compile for without another interpreter)")
    parser.add_argument("--source", type=Path, default=None,
                        help="a falco-response checkout to build the core and plugins from "
                             "(default: the checkout this runs from, or the one the current "
                             "directory is in; outside a checkout, the package index)")
    parser.add_argument("--with-boto3", action="store_true",
                        help="bundle boto3 (the runtime provides one; needed only to pin it)")
    parser.add_argument("--compile-with", metavar="PYTHON",
                        help="interpreter of the target version to byte-compile with")
    parser.add_argument("--no-compile", action="store_true",
                        help="ship without .pyc files (slower cold starts)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    plugins = [p.strip() for p in args.plugins.split(",") if p.strip()]
    try:
        package = build(
            output=args.output, plugins=plugins, config=args.config, arch=args.arch,
            python=args.python, source=args.source or _default_source(),
            with_boto3=args.with_boto3, compile_with=args.compile_with,
            no_compile=args.no_compile, log=lambda line: print(line, file=sys.stderr))
    except PackagingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(describe(package))
    return EXIT_OK
