"""``cordon-node``: mark the node unschedulable (what ``kubectl cordon`` does). Idempotent."""

from __future__ import annotations

from typing import Any

from falco_response import Action, ActionContext, Outcome
from falco_response_kubernetes import (Connection, ConnectionParams, Kube, check_connection,
                                       meta, record_event, run_action)

from .nodes import CORDONED_BY, fetch_node, new_token


class CordonNodeParams(ConnectionParams, forbid_unknown_fields=True, omit_defaults=True):
    allow_control_plane: bool = False


def make_cordon_node(params: CordonNodeParams) -> Action:
    check_connection(params)
    connection = Connection(params)

    def body(ctx: ActionContext, kube: Kube) -> Outcome:
        name, node, how = fetch_node(ctx, kube, params.allow_control_plane)
        target = f"node:{name}"
        detail: dict[str, Any] = {"via": how}
        if (node.get("spec") or {}).get("unschedulable"):
            return ctx.ok(target=target, reason="already cordoned", detail=detail)
        detail["request"] = f"PATCH /api/v1/nodes/{name}"
        if ctx.dry_run:
            return ctx.would(f"would PATCH node {name}: set spec.unschedulable=true",
                             target=target, detail=detail)
        token = new_token()  # says "cordoned by us" to undo; a person's cordon has none
        kube.patch_node(name, {"metadata": {"annotations": {CORDONED_BY: token}},
                               "spec": {"unschedulable": True}})
        detail["undo"] = {"node": name, "uid": meta(node).get("uid"), "cordon_token": token}
        if params.record_event:
            detail["event"] = record_event(kube, node, "Node", "v1",
                                           "Node cordoned by falco-response", ctx.alert, ctx.log)
        return ctx.ok(target=target, reason="cordoned", detail=detail)

    def run(ctx: ActionContext) -> Outcome:
        return run_action(ctx, connection, body, scope="node")

    return run
