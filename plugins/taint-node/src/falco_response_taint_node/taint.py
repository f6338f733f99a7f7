"""``taint-node``: keep new pods off (or evict everything from) the node an alert came from.

The node's taints are read, ours is added (or its value updated) keeping every other taint,
and the whole list is written back with a merge patch that carries the node's
``resourceVersion``: a concurrent writer makes the API server answer 409, and we read again.
"""

from __future__ import annotations

import re
from typing import Any, Literal, Union

from falco_response import Action, ActionContext, Outcome
from falco_response_kubernetes import (Connection, ConnectionParams, Kube, KubeError,
                                       check_connection, meta, record_event, run_action)
from falco_response_kubernetes.names import is_dns_subdomain

from .nodes import CORDONED_BY, MAX_CONFLICTS, fetch_node, new_token

_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")


class TaintNodeParams(ConnectionParams, forbid_unknown_fields=True, omit_defaults=True):
    key: str = "falco-response.io/compromised"
    value: Union[str, None] = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = "NoSchedule"
    cordon: bool = False
    allow_control_plane: bool = False


def check_key(key: str) -> None:
    prefix, _, name = key.rpartition("/")
    if (prefix and not is_dns_subdomain(prefix)) or len(name) > 63 or not _NAME.fullmatch(name):
        raise ValueError(f"key {key!r} is not a valid taint key (prefix/name)")


def taint_text(key: str, value: str | None, effect: str) -> str:
    return f"{key}={value}:{effect}" if value else f"{key}:{effect}"


def plan(node: dict[str, Any], params: TaintNodeParams) -> tuple[list[dict[str, Any]] | None, bool]:
    """(new taint list or None if ours is there, whether to set unschedulable)."""
    spec = node.get("spec") or {}
    taints = [t for t in spec.get("taints") or [] if isinstance(t, dict)]
    ours: dict[str, Any] = {"key": params.key, "effect": params.effect}
    if params.value:
        ours["value"] = params.value
    same = [t for t in taints if t.get("key") == params.key and t.get("effect") == params.effect]
    if same and (same[0].get("value") or None) == (params.value or None):
        new_taints = None
    else:
        new_taints = [t for t in taints if t not in same] + [ours]
    return new_taints, params.cordon and not spec.get("unschedulable")


def make_taint_node(params: TaintNodeParams) -> Action:
    check_connection(params)
    check_key(params.key)
    if params.value is not None and (len(params.value) > 63 or not _NAME.fullmatch(params.value)):
        raise ValueError(f"value {params.value!r} is not a valid taint value")
    connection = Connection(params)
    text = taint_text(params.key, params.value, params.effect)

    def body(ctx: ActionContext, kube: Kube) -> Outcome:
        for attempt in range(1, MAX_CONFLICTS + 1):
            name, node, how = fetch_node(ctx, kube, params.allow_control_plane)
            target = f"node:{name}"
            new_taints, cordon = plan(node, params)
            detail: dict[str, Any] = {"via": how, "taint": text, "uid": meta(node).get("uid")}
            if new_taints is None and not cordon:
                done = "already tainted " + text
                return ctx.ok(target=target, detail=detail,
                              reason=done + (" and cordoned" if params.cordon else ""))
            changes = ([f"add taint {text}"] if new_taints is not None else []) + (
                ["set spec.unschedulable=true"] if cordon else [])
            call = f"PATCH node {name}: " + " and ".join(changes)
            detail["request"] = f"PATCH /api/v1/nodes/{name}"
            if ctx.dry_run:
                return ctx.would(f"would {call}", target=target, detail=detail)
            spec: dict[str, Any] = {}
            if new_taints is not None:
                spec["taints"] = new_taints
            if cordon:
                spec["unschedulable"] = True
            patch: dict[str, Any] = {"metadata": {
                "resourceVersion": meta(node).get("resourceVersion")}, "spec": spec}
            token = new_token() if cordon else None
            if token:
                patch["metadata"]["annotations"] = {CORDONED_BY: token}
            try:
                kube.patch_node(name, patch)
            except KubeError as exc:
                if exc.status == 409 and attempt < MAX_CONFLICTS:
                    ctx.log.info("node changed meanwhile, reading it again", node=name,
                                 attempt=attempt)
                    continue
                raise
            detail["conflicts"] = attempt - 1
            ours = ([t for t in new_taints if t.get("key") == params.key
                     and t.get("effect") == params.effect] if new_taints is not None else [])
            replaced = [t for t in (node.get("spec") or {}).get("taints") or []
                        if isinstance(t, dict) and t.get("key") == params.key
                        and t.get("effect") == params.effect]
            detail["undo"] = {"node": name, "uid": meta(node).get("uid"),
                              "taint": ours[0] if ours else None, "replaced": replaced,
                              "cordon_token": token}
            if params.record_event:
                detail["event"] = record_event(kube, node, "Node", "v1",
                                               f"Node tainted {text} by falco-response"
                                               + (" and cordoned" if cordon else ""),
                                               ctx.alert, ctx.log)
            reason = ("tainted " + text if new_taints is not None else "already tainted " + text)
            return ctx.ok(target=target, detail=detail,
                          reason=reason + (" and cordoned" if cordon else ""))
        raise AssertionError("unreachable")  # pragma: no cover

    def run(ctx: ActionContext) -> Outcome:
        return run_action(ctx, connection, body, scope="node")

    return run
