"""falco-response plugin: the ``__NAME__`` action type.

It appends each alert it is given to a JSON-lines file: replace ``run`` with what your action
does. The shape stays: parameters validated at config load, nothing heavy imported before the
first alert, dry run honoured, failures returned as outcomes.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from falco_response import Action, ActionContext, Outcome, Priority, RegisterAction, hookimpl


class Params(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``with:`` of a ``__NAME__`` action."""

    path: str
    min_priority: str = "warning"


def make(params: Params) -> Action:
    """Called once per configured action, at config load: a ValueError is a config error."""
    try:
        threshold = Priority.parse(params.min_priority)
    except ValueError as exc:
        raise ValueError(f"min_priority: {exc}") from None
    path = Path(params.path)
    if not path.parent.is_dir():
        raise ValueError(f"path: directory {str(path.parent)!r} does not exist")
    target = f"file:{path}"

    def run(ctx: ActionContext) -> Outcome:
        alert = ctx.alert  # attacker-influenced: written as JSON data, never interpreted
        if alert.priority < threshold:
            return ctx.skipped(f"priority {alert.priority.label} is below {threshold.label}",
                               target=target)
        if ctx.dry_run:
            return ctx.would(f"would append the alert to {path}", target=target)
        try:
            with path.open("a", encoding="utf-8") as out:
                out.write(json.dumps({"rule": alert.rule, "priority": alert.priority.label,
                                      "output_fields": dict(alert.output_fields)}) + "\n")
        except OSError as exc:
            return ctx.failed(f"could not write: {exc.strerror}", target=target)
        return ctx.ok(target=target, reason="appended")

    return run


@hookimpl
def register_actions(register: RegisterAction) -> None:
    register("__NAME__", make, params=Params, destructive=False, blocking=True,
             summary="Appends the alert to a JSON-lines file.", permissions=[])
