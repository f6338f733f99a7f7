"""Example plugin: one action type and one filter, registered through the entry point."""

from __future__ import annotations

import msgspec

from falco_response import Action, ActionContext, Alert, Outcome, RegisterAction, hookimpl


class EchoParams(msgspec.Struct, forbid_unknown_fields=True):
    prefix: str = "echo"


def make_echo(params: EchoParams) -> Action:
    def run(ctx: ActionContext) -> Outcome:
        if ctx.dry_run:
            return ctx.would(f"would echo {ctx.alert.rule!r}")
        return ctx.ok(reason=f"{params.prefix}: {ctx.alert.rule}")
    return run


@hookimpl
def register_actions(register: RegisterAction) -> None:
    register("example-echo", make_echo, params=EchoParams, summary="Echoes the rule name.")


@hookimpl
def filter_alert(alert: Alert) -> str | None:
    return "tagged example-drop" if "example-drop" in alert.tags else None
