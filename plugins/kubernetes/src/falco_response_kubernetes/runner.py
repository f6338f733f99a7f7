"""The frame every Kubernetes action runs in: one API client, one deadline, failures as values.

An action body gets a :class:`Kube` bound to the action's deadline and returns an outcome;
:class:`Skip` becomes ``skipped`` and :class:`KubeError` becomes ``failed``, with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from falco_response import ActionContext, Outcome

from .api import Kube, KubeError
from .connection import Connection
from .targets import Skip

Body = Callable[[ActionContext, Kube], Outcome]


def run_action(ctx: ActionContext, connection: Connection, body: Body) -> Outcome:
    try:
        api_client = connection.api_client()
    except Exception as exc:  # kubeconfig missing, not in a cluster, DescribeCluster refused
        return ctx.failed(f"could not set up the Kubernetes client: {type(exc).__name__}: "
                          f"{str(exc)[:200]}")
    kube = Kube(api_client, connection.params.timeout_seconds, ctx.deadline)
    try:
        return body(ctx, kube)
    except Skip as skip:
        return ctx.skipped(skip.reason, target=skip.target)
    except KubeError as exc:
        detail: dict[str, Any] = {"status": exc.status, "api_calls": kube.calls}
        if exc.timed_out:
            detail["timed_out"] = True
        return ctx.failed(str(exc), detail=detail)
