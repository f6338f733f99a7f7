"""Undoing ``cordon-node`` and ``taint-node``: uncordon only a node still cordoned by us (our
token in ``falco-response.io/cordoned-by``), remove exactly the taint we added (restoring one
we replaced) and keep every other taint, with the node's ``resourceVersion``: a concurrent
writer makes the API server answer 409, and the node is read again.
"""

from __future__ import annotations

from typing import Any

from falco_response import Outcome
from falco_response_kubernetes import Connection, Kube, KubeError, Skip, meta
from falco_response_kubernetes.undo_runner import changed, run_undo

from .nodes import CORDONED_BY, MAX_CONFLICTS
from .taint import taint_text


def _plan(node: dict[str, Any], data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(the spec/metadata patch, what it does); :class:`Skip` when unsafe."""
    name = str(data["node"])
    spec = node.get("spec") or {}
    patch: dict[str, Any] = {}
    steps: list[str] = []
    ours = data.get("taint")
    if ours:
        taints = [t for t in spec.get("taints") or [] if isinstance(t, dict)]
        same = [t for t in taints if t.get("key") == ours["key"]
                and t.get("effect") == ours["effect"]]
        if same and same[0] != ours:
            raise changed(f"node {name}", f"has taint {taint_text(same[0]['key'], same[0].get('value'), same[0]['effect'])}"
                          f", not {taint_text(ours['key'], ours.get('value'), ours['effect'])} "
                          "as we set it")
        if same:
            kept = [t for t in taints if t is not same[0]] + list(data.get("replaced") or [])
            patch["taints"] = kept
            text = taint_text(ours["key"], ours.get("value"), ours["effect"])
            steps.append(f"remove taint {text}" + (" (restoring the one it replaced)"
                                                    if data.get("replaced") else ""))
    token = data.get("cordon_token")
    if token:
        mark = (meta(node).get("annotations") or {}).get(CORDONED_BY)
        if spec.get("unschedulable"):
            if mark != token:
                raise changed(f"node {name}", "is cordoned, but not by us any more (someone "
                              f"else cordoned it since: {CORDONED_BY} is {mark!r})")
            patch["unschedulable"] = None
            steps.append("uncordon")
    return patch, steps


def make_unnode(params: Any) -> Any:
    connection = Connection(params)

    def body(ctx: Any, kube: Kube) -> Outcome:
        data = ctx.data
        name = str(data["node"])
        target = f"node:{name}"
        for attempt in range(1, MAX_CONFLICTS + 1):
            node = kube.get_node(name)
            if node is None or (data.get("uid") and meta(node).get("uid") != data["uid"]):
                raise changed(f"node {name}", "is gone (or is a new node with that name)")
            spec_patch, steps = _plan(node, data)
            if not steps:
                return ctx.ok(target=target,  # type: ignore[no-any-return]
                              reason=f"nothing left to undo on node {name}")
            call = f"PATCH node {name}: " + " and ".join(steps)
            if ctx.dry_run:
                return ctx.would(f"would {call}", target=target)  # type: ignore[no-any-return]
            metadata: dict[str, Any] = {"resourceVersion": meta(node).get("resourceVersion")}
            if "unschedulable" in spec_patch:
                metadata["annotations"] = {CORDONED_BY: None}
            try:
                kube.patch_node(name, {"metadata": metadata, "spec": spec_patch})
            except KubeError as exc:
                if exc.status == 409 and attempt < MAX_CONFLICTS:
                    continue
                raise
            return ctx.ok(target=target, reason=f"undone: {call}")  # type: ignore[no-any-return]
        raise Skip("unreachable")  # pragma: no cover

    def run(ctx: Any) -> Outcome:
        return run_undo(ctx, connection, body)

    return run
