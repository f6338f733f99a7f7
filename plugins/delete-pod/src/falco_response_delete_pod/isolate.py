"""``isolate-pod``: cut a pod off the network but keep it for forensics.

The pod gets the label ``falco-response.io/quarantine=true``, and its namespace a deny-all
NetworkPolicy (Ingress and Egress, no rules) selecting that label. ``allow_dns`` adds a second,
additive policy that lets the quarantined pods reach kube-dns (UDP/TCP 53) and nothing else.
"""

from __future__ import annotations

from typing import Any

from falco_response import Action, ActionContext, Outcome
from falco_response_kubernetes import (Connection, ConnectionParams, Kube, KubeError,
                                       check_connection, check_pod, meta, record_event,
                                       resolve_pod, run_action)
from falco_response_kubernetes.gate import require_evidence
from falco_response_kubernetes.names import is_dns_subdomain

QUARANTINE_LABEL = "falco-response.io/quarantine"
MANAGED_BY = {"app.kubernetes.io/managed-by": "falco-response"}


class IsolatePodParams(ConnectionParams, forbid_unknown_fields=True, omit_defaults=True):
    allow_dns: bool = False
    policy_name: str = "falco-response-quarantine"
    require_evidence: bool = False


def deny_all_policy(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": {"podSelector": {"matchLabels": {QUARANTINE_LABEL: "true"}},
                 "policyTypes": ["Ingress", "Egress"]},
    }


def allow_dns_policy(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": {
            "podSelector": {"matchLabels": {QUARANTINE_LABEL: "true"}},
            "policyTypes": ["Egress"],
            "egress": [{
                "to": [{"namespaceSelector": {"matchLabels": {
                            "kubernetes.io/metadata.name": "kube-system"}},
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            }],
        },
    }


def _same_spec(existing: dict[str, Any], wanted: dict[str, Any]) -> bool:
    have, want = existing.get("spec") or {}, wanted["spec"]
    return all((have.get(k) or None) == (want.get(k) or None)
               for k in ("podSelector", "policyTypes", "ingress", "egress"))


def make_isolate_pod(params: IsolatePodParams) -> Action:
    check_connection(params)
    if not is_dns_subdomain(params.policy_name) or len(params.policy_name) > 240:
        raise ValueError("policy_name must be a DNS-1123 name of at most 240 characters")
    connection = Connection(params)

    def body(ctx: ActionContext, kube: Kube) -> Outcome:
        resolved = resolve_pod(kube, ctx.alert, ctx.settings)
        target = resolved.target
        ns, name = resolved.namespace, resolved.name
        if resolved.pod is None:
            return ctx.skipped(f"pod {ns}/{name} is gone: nothing to isolate", target=target)
        check_pod(kube, resolved, ctx.settings)
        if params.require_evidence:
            require_evidence(ctx.previous, target)
        wanted = [deny_all_policy(ns, params.policy_name)]
        if params.allow_dns:
            wanted.append(allow_dns_policy(ns, f"{params.policy_name}-allow-dns"))
        steps: list[tuple[str, dict[str, Any]]] = []
        for policy in wanted:
            pname = policy["metadata"]["name"]
            existing = kube.get_network_policy(ns, pname)
            if existing is None:
                steps.append((f"CREATE networkpolicy {ns}/{pname}", policy))
            elif not _same_spec(existing, policy):
                steps.append((f"PATCH networkpolicy {ns}/{pname} spec", policy))
        labelled = (meta(resolved.pod).get("labels") or {}).get(QUARANTINE_LABEL) == "true"
        if not labelled:
            steps.append((f"PATCH pod {ns}/{name} label {QUARANTINE_LABEL}=true", {}))
        detail: dict[str, Any] = {"via": resolved.how, "policies": [p["metadata"]["name"]
                                                                     for p in wanted]}
        if not steps:
            return ctx.ok(target=target, reason="already isolated", detail=detail)
        calls = " and ".join(call for call, _ in steps)
        detail["requests"] = [call for call, _ in steps]
        if ctx.dry_run:
            return ctx.would(f"would {calls}", target=target, detail=detail)
        created: list[str] = []
        for call, policy in steps:  # policies first: the label then isolates at once
            if call.startswith("CREATE"):
                try:
                    kube.create_network_policy(ns, policy)
                    created.append(policy["metadata"]["name"])
                except KubeError as exc:
                    if exc.status != 409:  # created meanwhile (another alert): fine
                        raise
            elif call.startswith("PATCH networkpolicy"):
                kube.patch_network_policy(ns, policy["metadata"]["name"],
                                          {"spec": policy["spec"]})
            else:
                kube.patch_pod(ns, name, {"metadata": {"labels": {QUARANTINE_LABEL: "true"}}})
        detail["undo"] = {"namespace": ns, "name": name, "uid": meta(resolved.pod).get("uid"),
                          "labelled": not labelled, "policies": created}
        if params.record_event:
            detail["event"] = record_event(kube, resolved.pod, "Pod", "v1",
                                           "Pod isolated by falco-response (deny-all "
                                           "NetworkPolicy)", ctx.alert, ctx.log)
        return ctx.ok(target=target, reason=f"isolated: {calls}", detail=detail)

    def run(ctx: ActionContext) -> Outcome:
        return run_action(ctx, connection, body)

    return run
