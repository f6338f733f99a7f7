"""falco-response: a response engine for Falco alerts.

Plugin authors need one import: ``from falco_response import hookimpl``.
Importing this package loads no plugin and imports nothing heavy.
"""

from __future__ import annotations

from .actions import Action, ActionContext, ActionType, NoParams, RegisterAction, Settings
from .alert import Alert, Priority
from .engine import Engine
from .errors import ConfigError, ConfigProblem, FalcoResponseError, ParseError, PluginError
from .hookspecs import hookimpl
from .outcome import Outcome, Result, Status
from .parsing import alert_from_dict

__version__ = "0.1.0"

__all__ = [
    "Action", "ActionContext", "ActionType", "Alert", "ConfigError", "ConfigProblem", "Engine",
    "FalcoResponseError", "NoParams", "Outcome", "ParseError", "PluginError", "Priority",
    "RegisterAction", "Result", "Settings", "Status", "alert_from_dict", "hookimpl",
]
