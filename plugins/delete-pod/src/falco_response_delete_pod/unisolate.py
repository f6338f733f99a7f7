"""Undoing ``isolate-pod``: remove the quarantine label it added and delete the
NetworkPolicies it created, unless they changed since or still isolate other pods.

Checks come first, then changes: a refusal changes nothing. A policy we created is deleted
only when no other pod in the namespace still carries the quarantine label (one LIST with a
label selector, in that namespace only); otherwise it is kept and the outcome says so.
"""

from __future__ import annotations

from typing import Any

from falco_response import Outcome
from falco_response_kubernetes import Connection, Kube, KubeError, meta
from falco_response_kubernetes.undo_runner import changed, run_undo

from .isolate import MANAGED_BY, QUARANTINE_LABEL, IsolatePodParams, allow_dns_policy, \
    deny_all_policy, _same_spec


def _quarantined(kube: Kube, namespace: str) -> list[str]:
    from kubernetes.client import CoreV1Api

    body = kube.call(f"LIST quarantined pods in {namespace}",
                     CoreV1Api(kube.api_client).list_namespaced_pod, namespace,
                     label_selector=f"{QUARANTINE_LABEL}=true")
    return [str(meta(p).get("name")) for p in body.get("items") or [] if isinstance(p, dict)]


def _delete_policy(kube: Kube, namespace: str, name: str, uid: str | None) -> None:
    from kubernetes.client import NetworkingV1Api

    body: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
    if uid:
        body["preconditions"] = {"uid": uid}
    kube.maybe(f"DELETE networkpolicy {namespace}/{name}",
               NetworkingV1Api(kube.api_client).delete_namespaced_network_policy, name,
               namespace, body=body)


def make_unisolate_pod(params: IsolatePodParams) -> Any:
    connection = Connection(params)

    def body(ctx: Any, kube: Kube) -> Outcome:
        data = ctx.data
        ns, name = str(data["namespace"]), str(data["name"])
        steps: list[str] = []
        pod = kube.get_pod(ns, name)
        same_pod = pod is not None and (not data.get("uid") or meta(pod).get("uid") == data["uid"])
        unlabel = bool(data.get("labelled")) and same_pod and \
            (meta(pod or {}).get("labels") or {}).get(QUARANTINE_LABEL) == "true"
        policies: list[tuple[str, str | None]] = []
        for pname in data.get("policies") or []:
            existing = kube.get_network_policy(ns, pname)
            if existing is None:
                continue
            wanted = (allow_dns_policy(ns, pname) if pname.endswith("-allow-dns")
                      else deny_all_policy(ns, pname))
            labels = meta(existing).get("labels") or {}
            if any(labels.get(k) != v for k, v in MANAGED_BY.items()) or \
                    not _same_spec(existing, wanted):
                raise changed(f"networkpolicy {ns}/{pname}", "changed since we created it")
            policies.append((pname, meta(existing).get("uid")))
        others = [p for p in _quarantined(kube, ns) if p != name] if policies else []
        if unlabel:
            steps.append(f"remove label {QUARANTINE_LABEL} from pod {ns}/{name}")
        kept = []
        for pname, _uid in policies:
            if others:
                kept.append(pname)
            else:
                steps.append(f"DELETE networkpolicy {ns}/{pname}")
        note = (f"; kept networkpolicy {', '.join(kept)}: {len(others)} other pod(s) in {ns} "
                f"are still quarantined ({', '.join(sorted(others)[:3])})" if kept else "")
        if not steps:
            return ctx.ok(reason=f"nothing left to undo: pod {ns}/{name} is not "  # type: ignore[no-any-return]
                          f"quarantined by us{note}", target=f"pod:{ns}/{name}")
        calls = " and ".join(steps)
        if ctx.dry_run:
            return ctx.would(f"would {calls}{note}",  # type: ignore[no-any-return]
                             target=f"pod:{ns}/{name}")
        if unlabel and pod is not None:
            try:
                kube.patch_pod(ns, name, {"metadata": {
                    "resourceVersion": meta(pod).get("resourceVersion"),
                    "labels": {QUARANTINE_LABEL: None}}})
            except KubeError as exc:
                if exc.status == 409:
                    raise changed(f"pod {ns}/{name}", "changed while undoing (409)") from None
                raise
        for pname, uid in policies:
            if pname not in kept:
                _delete_policy(kube, ns, pname, uid)
        return ctx.ok(reason=f"undone: {calls}{note}",  # type: ignore[no-any-return]
                      target=f"pod:{ns}/{name}")

    def run(ctx: Any) -> Outcome:
        return run_undo(ctx, connection, body)

    return run
