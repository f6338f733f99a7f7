"""Deployments, ReplicaSets, StatefulSets and DaemonSets in kmock, owning realistic pods."""

from __future__ import annotations

from typing import Any

from falco_response_kubernetes.testing import cid, realistic_pod

DEPLOYMENTS = "apps/v1/deployments"
REPLICASETS = "apps/v1/replicasets"
STATEFULSETS = "apps/v1/statefulsets"
DAEMONSETS = "apps/v1/daemonsets"


def method(request: Any) -> str:
    return str(getattr(request.method, "value", request.method))


def paths(requests: Any) -> list[tuple[str, str]]:
    return [(method(r), r.url.path) for r in requests]


def _workload(kind: str, namespace: str, name: str, replicas: int, ready: int,
              owner: dict[str, Any] | None = None, annotations: dict[str, str] | None = None
              ) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "uid": f"uid-{kind}-{name}",
                            "resourceVersion": "10", "annotations": dict(annotations or {})}
    if owner:
        meta["ownerReferences"] = [owner]
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta,
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "app", "image": "x:1"}]}}},
            "status": {"replicas": replicas, "readyReplicas": ready}}


def deployment(cluster: Any, name: str = "web", namespace: str = "default", *,
               replicas: int = 3, ready: int = 3, pods: int = 1,
               annotations: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """A Deployment ``name`` -> ReplicaSet ``name-7f9c8d`` -> ``pods`` pods."""
    dep = _workload("Deployment", namespace, name, replicas, ready, annotations=annotations)
    cluster.kmock.objects[DEPLOYMENTS, namespace, name] = dep
    rs_name = f"{name}-7f9c8d"
    rs = _workload("ReplicaSet", namespace, rs_name, replicas, ready, owner={
        "apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": dep["metadata"]["uid"],
        "controller": True})
    cluster.kmock.objects[REPLICASETS, namespace, rs_name] = rs
    made = []
    for i in range(pods):
        pod = realistic_pod(namespace, f"{rs_name}-p{i}", "node-a", [cid(i, name)])
        pod["metadata"]["ownerReferences"][0].update(name=rs_name, uid=rs["metadata"]["uid"])
        made.append(cluster.add_pod(pod))
    return made


def owned_by(cluster: Any, kind: str, name: str, namespace: str = "default", *,
             replicas: int = 3, ready: int = 3) -> dict[str, Any]:
    resource = {"StatefulSet": STATEFULSETS, "DaemonSet": DAEMONSETS}[kind]
    obj = _workload(kind, namespace, name, replicas, ready)
    cluster.kmock.objects[resource, namespace, name] = obj
    pod = realistic_pod(namespace, f"{name}-0", "node-a", [cid(0, name)])
    pod["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": kind, "name": name,
                                           "uid": obj["metadata"]["uid"], "controller": True}]
    return cluster.add_pod(pod)
