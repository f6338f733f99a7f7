"""Built-in plugins. They go through the same hooks as third-party ones, registered first."""

from __future__ import annotations

from types import ModuleType


def modules() -> list[ModuleType]:
    from . import log_action, parsers

    return [parsers, log_action]
