"""``scale-to-zero``: when killing a pod is useless (its controller brings it back in
seconds), scale the pod's owning Deployment or StatefulSet to 0 through its ``scale``
subresource. The previous replica count is written first, as the annotation
``falco-response.io/scaled-from`` on the workload, so undo (and a person) can restore it.
"""

from __future__ import annotations

from typing import Any

from falco_response import Action, ActionContext, Outcome
from falco_response_kubernetes import (Connection, ConnectionParams, Kube, Skip,
                                       check_connection, check_pod, meta, record_event,
                                       resolve_pod, run_action)
from falco_response_kubernetes.gate import require_evidence
from falco_response_kubernetes.targets import IGNORE_ANNOTATION
from falco_response_kubernetes.undo_runner import changed, run_undo
from falco_response_kubernetes.workloads import (SCALABLE, get_owned, get_scale, owner_chain,
                                                 patch_owned, patch_scale, scale_path)

SCALED_FROM = "falco-response.io/scaled-from"


class ScaleToZeroParams(ConnectionParams, forbid_unknown_fields=True, omit_defaults=True):
    allow_statefulsets: bool = True
    require_evidence: bool = False


def make_scale_to_zero(params: ScaleToZeroParams) -> Action:
    check_connection(params)
    connection = Connection(params)

    def body(ctx: ActionContext, kube: Kube) -> Outcome:
        resolved = resolve_pod(kube, ctx.alert, ctx.settings)
        ns, name = resolved.namespace, resolved.name
        if resolved.pod is None:
            return ctx.skipped(f"pod {ns}/{name} is gone: cannot find its workload",
                               target=resolved.target)
        check_pod(kube, resolved, ctx.settings)
        if params.require_evidence:
            require_evidence(ctx.previous, resolved.target)
        chain = owner_chain(kube, resolved.pod)
        workload = next((o for o in reversed(chain) if o.kind in SCALABLE and o.obj), None)
        if workload is None or workload.obj is None:
            owners = ", ".join(o.ref for o in chain) or "none"
            return ctx.skipped(f"pod {ns}/{name} is not run by a Deployment or StatefulSet "
                               f"(owners: {owners}): nothing to scale", target=resolved.target)
        target = workload.ref
        if workload.kind == "StatefulSet" and not params.allow_statefulsets:
            return ctx.skipped(f"{target} is a StatefulSet (allow_statefulsets: false)",
                               target=target)
        info = meta(workload.obj)
        if str((info.get("annotations") or {}).get(IGNORE_ANNOTATION, "")).lower() == "true":
            raise Skip(f"{target} is annotated {IGNORE_ANNOTATION}=true", target=target)
        scale = get_scale(kube, workload.kind, ns, workload.name)
        if scale is None:
            return ctx.skipped(f"{target} has no scale subresource (gone?)", target=target)
        current = int((scale.get("spec") or {}).get("replicas") or 0)
        detail: dict[str, Any] = {"via": resolved.how, "workload": target,
                                  "pod": f"{ns}/{name}", "replicas": current}
        if current == 0:
            return ctx.ok(target=target, reason="already scaled to 0", detail=detail)
        detail["requests"] = [f"PATCH {scale_path(workload.kind, ns, workload.name)[:-6]} "
                              f"annotation {SCALED_FROM}={current}",
                              f"PATCH {scale_path(workload.kind, ns, workload.name)}"]
        call = f"scale {target} from {current} to 0 replicas"
        if ctx.dry_run:
            return ctx.would(f"would {call}", target=target, detail=detail)
        patch_owned(kube, workload.kind, ns, workload.name,
                    {"metadata": {"annotations": {SCALED_FROM: str(current)}}})
        patch_scale(kube, workload.kind, ns, workload.name, 0)
        detail["undo"] = {"kind": workload.kind, "namespace": ns, "name": workload.name,
                          "uid": info.get("uid"), "replicas": current}
        if params.record_event:
            detail["event"] = record_event(kube, workload.obj, workload.kind, "apps/v1",
                                           f"{workload.kind} scaled from {current} to 0 by "
                                           "falco-response", ctx.alert, ctx.log)
        return ctx.ok(target=target, reason=f"scaled {target} from {current} to 0 replicas",
                      detail=detail)

    def run(ctx: ActionContext) -> Outcome:
        return run_action(ctx, connection, body)

    return run


def make_unscale(params: ScaleToZeroParams) -> Any:
    connection = Connection(params)

    def body(ctx: Any, kube: Kube) -> Outcome:
        data = ctx.data
        kind, ns, name = str(data["kind"]), str(data["namespace"]), str(data["name"])
        wanted = int(data["replicas"])
        what = f"{kind.lower()}:{ns}/{name}"
        obj = get_owned(kube, kind, ns, name) if kind in SCALABLE else None
        if obj is None or (data.get("uid") and meta(obj).get("uid") != data["uid"]):
            raise changed(what, "is gone (or was recreated)")
        now = (obj.get("spec") or {}).get("replicas")
        if now != 0:
            raise changed(what, f"now has {now} replicas, not the 0 we set: someone scaled "
                          "it since")
        mark = (meta(obj).get("annotations") or {}).get(SCALED_FROM)
        if mark != str(wanted):
            raise changed(what, f"has {SCALED_FROM}={mark!r}, not {wanted!r} as we wrote it")
        call = f"scale {what} from 0 back to {wanted} replicas"
        if ctx.dry_run:
            return ctx.would(f"would {call}", target=what)  # type: ignore[no-any-return]
        patch_scale(kube, kind, ns, name, wanted)
        patch_owned(kube, kind, ns, name, {"metadata": {"annotations": {SCALED_FROM: None}}})
        return ctx.ok(target=what, reason=f"undone: {call}",  # type: ignore[no-any-return]
                      detail={"replicas": wanted})

    def run(ctx: Any) -> Outcome:
        return run_undo(ctx, connection, body)

    return run
