"""``label-pod``: add the labels the config names (e.g. ``falco-response.io/quarantine:
"true"``) to the pod an alert names, so other tooling and NetworkPolicies can select it.

Keys and values come only from the config, validated at load; nothing from the alert.
Undo removes the labels it added (restoring a value it overwrote), unless they changed since.
"""

from __future__ import annotations

import re
from typing import Any

from falco_response import Action, ActionContext, Outcome
from falco_response_kubernetes import (Connection, ConnectionParams, Kube, KubeError,
                                       check_connection, check_pod, meta, record_event,
                                       resolve_pod, run_action)
from falco_response_kubernetes.gate import require_evidence
from falco_response_kubernetes.names import is_dns_subdomain
from falco_response_kubernetes.undo_runner import changed, run_undo

_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
RESERVED = ("kubernetes.io", "k8s.io")


class LabelPodParams(ConnectionParams, forbid_unknown_fields=True, omit_defaults=True):
    labels: dict[str, str] = {}
    require_evidence: bool = False


def check_labels(labels: dict[str, str]) -> None:
    if not labels:
        raise ValueError("labels: name at least one label (e.g. falco-response.io/quarantine: "
                         "\"true\")")
    for key, value in labels.items():
        prefix, _, name = key.rpartition("/")
        if (prefix and (len(prefix) > 253 or not is_dns_subdomain(prefix))) or len(name) > 63 \
                or not _NAME.fullmatch(name):
            raise ValueError(f"labels: {key!r} is not a valid label key ([prefix/]name)")
        if prefix and any(prefix == r or prefix.endswith("." + r) for r in RESERVED):
            raise ValueError(f"labels: {key!r}: the {prefix} prefix is reserved for Kubernetes")
        if len(value) > 63 or (value and not _NAME.fullmatch(value)):
            raise ValueError(f"labels: the value of {key!r} is not a valid label value")


def make_label_pod(params: LabelPodParams) -> Action:
    check_connection(params)
    check_labels(params.labels)
    connection = Connection(params)

    def body(ctx: ActionContext, kube: Kube) -> Outcome:
        resolved = resolve_pod(kube, ctx.alert, ctx.settings)
        target, ns, name = resolved.target, resolved.namespace, resolved.name
        if resolved.pod is None:
            return ctx.skipped(f"pod {ns}/{name} is gone: nothing to label", target=target)
        check_pod(kube, resolved, ctx.settings)
        if params.require_evidence:
            require_evidence(ctx.previous, target)
        have = meta(resolved.pod).get("labels") or {}
        adding = {k: v for k, v in params.labels.items() if have.get(k) != v}
        shown = ", ".join(f"{k}={v}" for k, v in sorted(adding.items()))
        detail: dict[str, Any] = {"via": resolved.how, "labels": sorted(params.labels)}
        if not adding:
            return ctx.ok(target=target, reason="already labelled", detail=detail)
        detail["request"] = f"PATCH /api/v1/namespaces/{ns}/pods/{name}"
        if ctx.dry_run:
            return ctx.would(f"would PATCH pod {ns}/{name} labels {shown}", target=target,
                             detail=detail)
        kube.patch_pod(ns, name, {"metadata": {"labels": adding}})
        detail["undo"] = {"namespace": ns, "name": name, "uid": meta(resolved.pod).get("uid"),
                          "labels": adding, "previous": {k: have.get(k) for k in adding}}
        if params.record_event:
            detail["event"] = record_event(kube, resolved.pod, "Pod", "v1",
                                           f"Pod labelled {shown} by falco-response",
                                           ctx.alert, ctx.log)
        return ctx.ok(target=target, reason=f"labelled {shown}", detail=detail)

    def run(ctx: ActionContext) -> Outcome:
        return run_action(ctx, connection, body)

    return run


def unlabel(kube: Kube, data: dict[str, Any], *, apply: bool) -> str:
    """Check the pod still carries our labels; remove them (``apply``). Returns what was
    (or would be) done; :class:`Skip` via :func:`changed` when it is unsafe."""
    ns, name = str(data["namespace"]), str(data["name"])
    pod = kube.get_pod(ns, name)
    if pod is None or (data.get("uid") and meta(pod).get("uid") != data["uid"]):
        raise changed(f"pod {ns}/{name}", "is gone (or is a new pod with that name)")
    have = meta(pod).get("labels") or {}
    ours: dict[str, str] = data.get("labels") or {}
    previous: dict[str, Any] = data.get("previous") or {}
    for key, value in ours.items():
        if key in have and have[key] != value:
            raise changed(f"pod {ns}/{name}", f"has {key}={have[key]}, not {value} as we set it")
    patch = {k: previous.get(k) for k in ours if k in have}
    if not patch:
        return f"pod {ns}/{name}: our labels are already gone"
    shown = ", ".join(f"{k}={v}" if v is not None else f"-{k}" for k, v in sorted(patch.items()))
    if apply:
        try:
            kube.patch_pod(ns, name, {"metadata": {
                "resourceVersion": meta(pod).get("resourceVersion"), "labels": patch}})
        except KubeError as exc:
            if exc.status == 409:
                raise changed(f"pod {ns}/{name}", "changed while undoing (409)") from None
            raise
    return f"PATCH pod {ns}/{name} labels {shown}"


def make_unlabel_pod(params: LabelPodParams) -> Any:
    connection = Connection(params)

    def body(ctx: Any, kube: Kube) -> Outcome:
        done = unlabel(kube, ctx.data, apply=not ctx.dry_run)
        if ctx.dry_run:
            return ctx.would(f"would {done}")  # type: ignore[no-any-return]
        return ctx.ok(reason=f"undone: {done}")  # type: ignore[no-any-return]

    def run(ctx: Any) -> Outcome:
        return run_undo(ctx, connection, body)

    return run
