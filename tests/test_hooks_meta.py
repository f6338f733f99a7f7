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
    blocks = _python_blocks(ROOT / "docs" / "writing-plugins.md")
    module_code, usage = blocks[:2]
    [kit_example] = [b for b in blocks if b.startswith("from falco_response_testing")]
    compile(kit_example, "writing-plugins.md (test kit)", "exec")
    chat_module = types.ModuleType("falco_response_chat")
    exec(compile(module_code, "writing-plugins.md", "exec"), chat_module.__dict__)
    exec(compile(usage, "writing-plugins.md", "exec"), {"chat_module": chat_module})


def _call_text(function: object) -> str:
    """``register(name, factory, *, params=NoParams, ...)`` from a signature, defaults as
    written in Python (classes by name, strings double-quoted)."""
    parts: list[str] = []
    star = False
    for p in inspect.signature(function).parameters.values():  # type: ignore[arg-type]
        if p.name == "self":
            continue
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        if p.default is p.empty:
            parts.append(p.name)
        else:
            default = p.default
            shown = (default.__name__ if isinstance(default, type)
                     else '"' + default + '"' if isinstance(default, str) else repr(default))
            parts.append(f"{p.name}={shown}")
    return f"register({', '.join(parts)})"


def test_register_is_documented_with_its_whole_signature() -> None:
    from falco_response.actions import ActionRegistry, RegisterAction

    protocol = _call_text(RegisterAction.__call__)
    assert _call_text(ActionRegistry().register_for("p")) == protocol  # protocol == implementation
    assert protocol in HOOK_DOCS, protocol
    assert hookspecs.register_actions.__doc__ and protocol in hookspecs.register_actions.__doc__
    for name in inspect.signature(RegisterAction.__call__).parameters:
        if name != "self":
            assert f"- `{name}`" in HOOK_DOCS, f"register's {name!r} has no bullet in hooks.md"


def test_every_action_context_member_is_documented() -> None:
    from falco_response.actions import ActionContext

    members = list(ActionContext.__struct_fields__) + [
        name for name, value in inspect.getmembers(ActionContext, inspect.isfunction)
        if not name.startswith("_")]
    doc = ActionContext.__doc__ or ""
    for name in members:
        assert f"`ctx.{name}" in HOOK_DOCS, f"ActionContext.{name} missing from hooks.md"
        assert re.search(rf"``{name}``|:meth:`{name}`", doc), f"{name} missing from the docstring"
    for named in re.findall(r":meth:`(\w+)`", doc):
        assert named in members, f"the ActionContext docstring names {named!r}, which is not a member"
