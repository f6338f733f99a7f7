"""The frame every Kubernetes undo runs in (the counterpart of :mod:`.runner` for
``falco-response undo``): one client, the undo's deadline, failures as outcomes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from falco_response import Outcome

from .api import Kube, KubeError
from .connection import Connection
from .targets import Skip

UndoBody = Callable[[Any, Kube], Outcome]


def run_undo(ctx: Any, connection: Connection, body: UndoBody) -> Outcome:
    """``ctx`` is a :class:`falco_response.undo.UndoContext`."""
    try:
        api_client = connection.api_client()
    except Exception as exc:
        return ctx.failed(f"could not set up the Kubernetes client: {type(exc).__name__}: "  # type: ignore[no-any-return]
                          f"{str(exc)[:200]}")
    kube = Kube(api_client, connection.params.timeout_seconds, ctx.deadline)
    try:
        return body(ctx, kube)
    except Skip as skip:
        return ctx.skipped(skip.reason, target=skip.target)  # type: ignore[no-any-return]
    except KubeError as exc:
        return ctx.failed(str(exc), detail={"status": exc.status})  # type: ignore[no-any-return]


def changed(what: str, why: str) -> Skip:
    """A refusal: the object is not as the action left it."""
    return Skip(f"refusing to undo: {what} {why}; nothing changed")
