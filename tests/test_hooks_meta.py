"""Meta-tests: every hook has a test and a documented, exact signature; docs examples run."""

from __future__ import annotations

import inspect
import re
import types
from pathlib import Path

import pytest

from falco_response import hookspecs

from .conftest import ROOT

HOOKS = sorted(name for name, value in vars(hookspecs).items()
               if inspect.isfunction(value) and hasattr(value, "falco_response_spec"))
TESTS = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))
HOOK_DOCS = (ROOT / "docs" / "hooks.md").read_text()


def test_the_four_hooks_exist() -> None:
    assert HOOKS == ["alert_handled", "filter_alert", "parse_alert", "register_actions"]


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_test(name: str) -> None:
    assert re.search(rf"^def test_hook_{name}\(", TESTS, re.M), f"no test_hook_{name}"


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_documented_with_its_signature(name: str) -> None:
    spec = getattr(hookspecs, name)
    assert f"## `{name}`" in HOOK_DOCS
    signature = str(inspect.signature(spec)).replace("'", "")
    assert f"def {name}{signature}" in HOOK_DOCS, signature
    assert spec.__doc__ and len(spec.__doc__.split()) > 20


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), re.S)


def test_writing_a_plugin_example_runs() -> None:
    module_code, usage = _python_blocks(ROOT / "docs" / "writing-plugins.md")[:2]
    chat_module = types.ModuleType("falco_response_chat")
    exec(compile(module_code, "writing-plugins.md", "exec"), chat_module.__dict__)
    exec(compile(usage, "writing-plugins.md", "exec"), {"chat_module": chat_module})
