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


HOW_TO_CONNECT = ("point it at a cluster with KUBECONFIG (or ~/.kube/config), the action's "
                  "cluster.kubeconfig / cluster.context, cluster.eks, or run it in the cluster")


def named_target(ctx: ActionContext, scope: str) -> str | None:
    """The target as the alert names it, before any lookup: ``pod:ns/name`` or
    ``node:name``."""
    alert = ctx.alert
    if scope == "node":
        return f"node:{alert.node_name}" if alert.node_name else None
    if alert.pod_namespace and alert.pod_name:
        return f"pod:{alert.pod_namespace}/{alert.pod_name}"
    return None


def run_action(ctx: ActionContext, connection: Connection, body: Body, *,
               scope: str = "pod") -> Outcome:
    """Run ``body`` with a client; ``scope`` (``pod`` or ``node``) names what the action acts
    on, for the target of a dry run that could not reach a cluster."""
    try:
        api_client = connection.api_client()
    except Exception as exc:  # kubeconfig missing, not in a cluster, DescribeCluster refused
        why = f"{type(exc).__name__}: {str(exc)[:200]}"
        if ctx.dry_run:
            # A dry run on a laptop: say what the alert names, and that nothing was checked.
            target = named_target(ctx, scope)
            return ctx.would(
                f"would act on {target or 'the ' + scope + ' the alert names'}; not checked "
                f"against a cluster (could not set up the Kubernetes client: {why}): "
                f"{HOW_TO_CONNECT}", target=target, detail={"checked": False})
        return ctx.failed(f"could not set up the Kubernetes client: {why}")
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
