"""The built-in ``log`` action type: write the alert as a structured log event."""

from __future__ import annotations

from typing import Literal

import msgspec

from ..actions import Action, ActionContext, RegisterAction
from ..hookspecs import hookimpl
from ..outcome import Outcome


class LogParams(msgspec.Struct, forbid_unknown_fields=True):
    level: Literal["debug", "info", "warning", "error", "critical"] = "warning"
    message: str = "falco alert"


def make_log_action(params: LogParams) -> Action:
    def run(ctx: ActionContext) -> Outcome:
        alert = ctx.alert
        if ctx.dry_run:
            return ctx.would(f"would log the alert at {params.level}")
        getattr(ctx.log, params.level)(
            params.message, priority=alert.priority.label, output=alert.output,
            hostname=alert.hostname, source=alert.source)
        return ctx.ok(reason=f"logged at {params.level}")
    return run


@hookimpl
def register_actions(register: RegisterAction) -> None:
    register("log", make_log_action, params=LogParams, blocking=False,
             summary="Writes the alert as a structured log event (stderr).")
