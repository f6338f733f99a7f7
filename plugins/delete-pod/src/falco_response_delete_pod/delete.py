"""``delete-pod``: delete (or evict) the pod an alert names, so its controller replaces it
with a clean one. Standalone pods are left alone unless allowed: nothing would bring them back.
"""

from __future__ import annotations

from typing import Literal, Union

from falco_response import Action, ActionContext, Outcome
from falco_response_kubernetes import (Connection, ConnectionParams, Kube, KubeError,
                                       check_connection, check_pod, meta, record_event,
                                       resolve_pod, run_action)
from falco_response_kubernetes.gate import check_workload, require_evidence
from falco_response_kubernetes.workloads import check_minimum_spec

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


class DeletePodParams(ConnectionParams, forbid_unknown_fields=True, omit_defaults=True):
    grace_period_seconds: int = 0
    mode: Literal["delete", "evict"] = "delete"
    allow_standalone: bool = False
    ignore_daemonsets: bool = True
    ignore_statefulsets: bool = False
    min_healthy_replicas: Union[int, str, None] = None
    require_evidence: bool = False


def make_delete_pod(params: DeletePodParams) -> Action:
    check_connection(params)
    if params.grace_period_seconds < 0:
        raise ValueError("grace_period_seconds must be 0 or more")
    check_minimum_spec(params.min_healthy_replicas)
    connection = Connection(params)
    grace = params.grace_period_seconds

    def body(ctx: ActionContext, kube: Kube) -> Outcome:
        resolved = resolve_pod(kube, ctx.alert, ctx.settings)
        target = resolved.target
        if resolved.pod is None:
            return ctx.ok(target=target, reason="already gone")
        check_pod(kube, resolved, ctx.settings)
        info = meta(resolved.pod)
        ns, name = resolved.namespace, resolved.name
        if info.get("deletionTimestamp"):
            return ctx.ok(target=target, reason="already being deleted")
        if MIRROR_ANNOTATION in (info.get("annotations") or {}):
            return ctx.skipped("mirror pod of a static pod: deleting it does not stop the "
                               "containers (taint or cordon the node instead)", target=target)
        if not info.get("ownerReferences") and not params.allow_standalone:
            return ctx.skipped("standalone pod (no ownerReferences): deleting it loses the "
                               "workload; set allow_standalone: true to allow it", target=target)
        if params.require_evidence:
            require_evidence(ctx.previous, target)
        guarded = check_workload(kube, resolved, params,
                                 "evicting" if params.mode == "evict" else "deleting")
        path = f"/api/v1/namespaces/{ns}/pods/{name}"
        if params.mode == "evict":
            call = f"POST eviction for pod {ns}/{name} (grace {grace}s)"
            request = f"POST {path}/eviction"
        else:
            call = f"DELETE pod {ns}/{name} (grace {grace}s)"
            request = f"DELETE {path}"
        detail: dict[str, object] = {"via": resolved.how, "request": request,
                                     "grace_period_seconds": grace, "uid": info.get("uid"),
                                     **guarded}
        if ctx.dry_run:
            return ctx.would(f"would {call}", target=target, detail=detail)
        if params.mode == "evict":
            try:
                kube.evict_pod(ns, name, grace)
            except KubeError as exc:
                if exc.status == 429:
                    return ctx.failed(f"eviction of pod {ns}/{name} refused by a "
                                      f"PodDisruptionBudget (429): {exc.body.get('message') or exc.message}",
                                      target=target, detail={**detail, "status": 429})
                if exc.status == 404:
                    return ctx.ok(target=target, reason="already gone")
                raise
            reason, verb = f"evicted (grace {grace}s)", "evicted"
        else:
            try:
                gone = kube.delete_pod(ns, name, grace, info.get("uid")) is None
            except KubeError as exc:
                if exc.status != 409:  # 409: the uid precondition failed, a new pod took the name
                    raise
                gone = True
            if gone:
                return ctx.ok(target=target, reason="already gone")
            reason, verb = f"deleted (grace {grace}s)", "deleted"
        # Not reversible; recorded so the trail says which pod (uid) went and undo says so.
        detail["undo"] = {"namespace": ns, "name": name, "uid": info.get("uid"),
                          "irreversible": verb}
        if params.record_event:
            detail["event"] = record_event(kube, resolved.pod, "Pod", "v1",
                                           f"Pod {verb} by falco-response", ctx.alert, ctx.log)
        return ctx.ok(target=target, reason=reason, detail=detail)

    def run(ctx: ActionContext) -> Outcome:
        return run_action(ctx, connection, body)

    return run
