"""The generated reference (docs/reference/, written by docs/gen_reference.py) is current,
and names every action type, CLI command and option, hook, environment variable and metric
the code has."""

from __future__ import annotations

import argparse
import inspect
import json
import re
import subprocess
import sys

import pytest

from falco_response import environment, hookspecs
from falco_response.cli import build_parser

from .docs_blocks import DOCS, ROOT

REFERENCE = DOCS / "reference"
SOURCES = [*(ROOT / "src" / "falco_response").rglob("*.py"),
           *(p for p in ROOT.glob("plugins/*/src/**/*.py") if "_template" not in p.parts)]
READS = re.compile(r"""(?:environ(?:\.get)?\(|environ\[|getenv\(|env\()\s*["']([A-Z][A-Z0-9_]+)["']""")


def page(name: str) -> str:
    return (REFERENCE / name).read_text()


def test_reference_pages_are_up_to_date() -> None:
    done = subprocess.run([sys.executable, str(DOCS / "gen_reference.py"), "--check"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr


def test_every_action_type_of_the_repository_is_documented() -> None:
    code = ("import json, sys; sys.path.insert(0, 'docs'); import gen_reference as g; "
            "r, _ = g.action_registry(); "
            "print(json.dumps([[t.name, t.destructive, list(t.permissions)] for t in r]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, check=True)
    types = json.loads(done.stdout)
    names = {name for name, _, _ in types}
    assert {"log", "slack", "pagerduty", "webhook", "delete-pod", "isolate-pod", "taint-node",
            "cordon-node"} <= names
    text = page("actions.md")
    for name, destructive, permissions in types:
        section = text.split(f"\n## `{name}`\n", 1)[1].split("\n## ", 1)[0]
        assert ("destructive: **yes**" in section) == destructive, name
        for permission in permissions:
            assert permission in section, (name, permission)


def test_every_cli_command_and_option_is_documented() -> None:
    text = page("cli.md")
    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert "new-plugin" in commands.choices
    for name, sub in commands.choices.items():
        assert f"\n## `{name}`\n" in text, name
        section = text.split(f"\n## `{name}`\n", 1)[1].split("\n## ", 1)[0]
        for action in sub._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert option in section, (name, option)


def test_every_hook_is_documented_with_signature_and_docstring() -> None:
    text = page("hooks.md")
    hooks = [n for n, v in vars(hookspecs).items()
             if inspect.isfunction(v) and hasattr(v, "falco_response_spec")]
    assert len(hooks) >= 4
    for name in hooks:
        spec = getattr(hookspecs, name)
        signature = str(inspect.signature(spec)).replace("'", "")
        assert f"def {name}{signature}" in text
        first_line = inspect.getdoc(spec).splitlines()[0].replace("``", "`")
        assert re.sub(r":class:`([^`]+)`", r"`\1`", first_line) in text


def variables_read_by_the_code() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in SOURCES:
        source = path.read_text()
        for name in set(READS.findall(source)) | set(re.findall(
                r"""["'](FALCO_RESPONSE_[A-Z0-9_]+)["']""", source)):
            found.setdefault(name, str(path.relative_to(ROOT)))
    return found


def test_every_environment_variable_the_code_reads_is_listed_and_documented() -> None:
    read = variables_read_by_the_code()
    assert {"FALCO_RESPONSE_CONFIG", "FALCO_RESPONSE_DRY_RUN", "KUBECONFIG"} <= set(read)
    missing = {n: where for n, where in read.items() if n not in environment.NAMES}
    assert not missing, f"add these to falco_response/environment.py: {missing}"
    text = page("environment.md")
    for variable in environment.VARIABLES + environment.FOREIGN:
        assert f"| `{variable.name}` |" in text


def test_the_metrics_page_lists_what_the_server_registers() -> None:
    pytest.importorskip("prometheus_client", reason="the server extra is not installed here; "
                        "tox -e docs runs this")
    from falco_response.server.metrics import Metrics

    text = page("metrics.md")
    families = list(Metrics().registry.collect())
    assert families
    for family in families:
        exposed = family.name + ("_total" if family.type == "counter" else "")
        assert f"`{exposed}" in text, exposed
        assert family.documentation in text
