"""falco-response: a response engine for Falco alerts.

Plugin authors need one import: ``from falco_response import hookimpl``. That import costs
only pluggy's marker: every other name here is imported on first use (PEP 562), so a plugin
module does not pay for the engine, the config layer, YAML or structlog.
Importing this package loads no plugin.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .hookspecs import hookimpl

if TYPE_CHECKING:
    from .actions import Action, ActionContext, ActionType, NoParams, RegisterAction, Settings
    from .alert import Alert, Priority
    from .engine import Engine
    from .errors import ConfigError, ConfigProblem, FalcoResponseError, ParseError, PluginError
    from .outcome import Outcome, Result, Status
    from .parsing import alert_from_dict
    from .redaction import Redactor, quiet_transport_logs

__version__ = "0.1.0"

_LAZY = {
    "Action": "actions", "ActionContext": "actions", "ActionType": "actions",
    "NoParams": "actions", "RegisterAction": "actions", "Settings": "actions",
    "Alert": "alert", "Priority": "alert", "Engine": "engine",
    "ConfigError": "errors", "ConfigProblem": "errors", "FalcoResponseError": "errors",
    "ParseError": "errors", "PluginError": "errors",
    "Outcome": "outcome", "Result": "outcome", "Status": "outcome",
    "alert_from_dict": "parsing",
    "Redactor": "redaction", "quiet_transport_logs": "redaction",
}

__all__ = [
    "Action", "ActionContext", "ActionType", "Alert", "ConfigError", "ConfigProblem", "Engine",
    "FalcoResponseError", "NoParams", "Outcome", "ParseError", "PluginError", "Priority",
    "Redactor", "RegisterAction", "Result", "Settings", "Status", "alert_from_dict", "hookimpl",
    "quiet_transport_logs",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'falco_response' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
