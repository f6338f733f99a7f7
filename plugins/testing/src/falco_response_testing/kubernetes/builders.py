"""Objects and alerts for Kubernetes tests: realistic pods, workloads that own them (stored in
a :class:`~.cluster.KmockCluster`), distinct container ids, and Falco alerts naming a pod, a
container or a node."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from .cluster import DAEMONSETS, DEPLOYMENTS, REPLICASETS, STATEFULSETS, KmockCluster


def cid(n: int, salt: str = "a") -> str:
    """A 64-hex container id, distinct per ``n`` (and ``salt``)."""
    return hashlib.sha256(f"{salt}-{n}".encode()).hexdigest()


def alert_with_fields(output_fields: dict[str, Any] | None = None, *,
                      hostname: str | None = "node-a", rule: str = "Terminal shell in container",
                      source: str = "syscall") -> dict[str, Any]:
    """A Falco alert whose output fields are exactly ``output_fields``, from node ``hostname``
    (None: no hostname). No ``uuid``, so handling it twice runs its actions twice."""
    data: dict[str, Any] = {
        "time": "2026-11-26T13:44:05.478445995Z", "rule": rule, "priority": "Critical",
        "source": source, "output": f"{rule} (...)", "tags": ["container", "shell"],
        "output_fields": output_fields or {},
    }
    if hostname is not None:
        data["hostname"] = hostname
    return data


def pod_alert(namespace: str, name: str, **kwargs: Any) -> dict[str, Any]:
    """An alert naming pod ``namespace/name`` (``k8s.ns.name``, ``k8s.pod.name``)."""
    return alert_with_fields({"k8s.ns.name": namespace, "k8s.pod.name": name,
                              "container.id": "ee97d9c4186f"}, **kwargs)


def container_alert(container_id: str, **kwargs: Any) -> dict[str, Any]:
    """An alert naming only a container id (the pod must be found on the alert's node)."""
    return alert_with_fields({"container.id": container_id, "proc.name": "sh"}, **kwargs)


def realistic_pod(namespace: str, name: str, node: str, container_ids: Iterable[str], *,
                  owner: bool = True, labels: dict[str, str] | None = None,
                  annotations: dict[str, str] | None = None, uid: str | None = None
                  ) -> dict[str, Any]:
    """A pod shaped like a Deployment's: owner, probes, env, volumes, statuses (~3 KB)."""
    app = name.rsplit("-", 2)[0]
    ids = list(container_ids)
    containers, statuses = [], []
    for i, container_id in enumerate(ids):
        cname = app if i == 0 else f"sidecar-{i}"
        containers.append({
            "name": cname, "image": f"registry.example.com/{app}:1.{i}.3",
            "ports": [{"containerPort": 8080 + i, "protocol": "TCP"}],
            "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "POD_NAME", "valueFrom": {
                "fieldRef": {"fieldPath": "metadata.name"}}}],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                          "limits": {"memory": "256Mi"}},
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080 + i},
                               "periodSeconds": 10},
            "volumeMounts": [{"name": "kube-api-access", "readOnly": True,
                              "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
        })
        statuses.append({
            "name": cname, "ready": True, "restartCount": 0, "started": True,
            "image": f"registry.example.com/{app}:1.{i}.3",
            "imageID": f"registry.example.com/{app}@sha256:{container_id[:64].ljust(64, '0')}",
            "containerID": f"containerd://{container_id}",
            "state": {"running": {"startedAt": "2026-11-20T10:00:00Z"}},
        })
    metadata: dict[str, Any] = {
        "name": name, "namespace": namespace, "uid": uid or f"uid-{namespace}-{name}",
        "resourceVersion": "1", "labels": {"app": app, "pod-template-hash": "7f9c8d", **(labels or {})},
        "annotations": dict(annotations or {}),
        "creationTimestamp": "2026-11-20T09:59:58Z",
    }
    if owner:
        metadata["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                        "name": f"{app}-7f9c8d", "uid": f"rs-{app}",
                                        "controller": True, "blockOwnerDeletion": True}]
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": metadata,
        "spec": {"nodeName": node, "containers": containers, "serviceAccountName": "default",
                 "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
                 "volumes": [{"name": "kube-api-access", "projected": {"sources": [
                     {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}}]}}],
                 "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                                  "effect": "NoExecute", "tolerationSeconds": 300}]},
        "status": {"phase": "Running", "hostIP": "10.0.1.5", "podIP": "10.0.1.77",
                   "qosClass": "Burstable", "startTime": "2026-11-20T09:59:58Z",
                   "conditions": [{"type": "Ready", "status": "True"}],
                   "containerStatuses": statuses},
    }


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


def deployment(cluster: KmockCluster, name: str = "web", namespace: str = "default", *,
               replicas: int = 3, ready: int = 3, pods: int = 1,
               annotations: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Store a Deployment ``name`` -> ReplicaSet ``name-7f9c8d`` -> ``pods`` pods on node-a;
    returns the pods."""
    dep = _workload("Deployment", namespace, name, replicas, ready, annotations=annotations)
    cluster.put(DEPLOYMENTS, namespace, name, dep)
    rs_name = f"{name}-7f9c8d"
    rs = _workload("ReplicaSet", namespace, rs_name, replicas, ready, owner={
        "apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": dep["metadata"]["uid"],
        "controller": True})
    cluster.put(REPLICASETS, namespace, rs_name, rs)
    made = []
    for i in range(pods):
        pod = realistic_pod(namespace, f"{rs_name}-p{i}", "node-a", [cid(i, name)])
        pod["metadata"]["ownerReferences"][0].update(name=rs_name, uid=rs["metadata"]["uid"])
        made.append(cluster.add_pod(pod))
    return made


def owned_by(cluster: KmockCluster, kind: str, name: str, namespace: str = "default", *,
             replicas: int = 3, ready: int = 3) -> dict[str, Any]:
    """Store a StatefulSet or DaemonSet ``name`` and its pod ``name-0``; returns the pod."""
    resource = {"StatefulSet": STATEFULSETS, "DaemonSet": DAEMONSETS}[kind]
    obj = _workload(kind, namespace, name, replicas, ready)
    cluster.put(resource, namespace, name, obj)
    pod = realistic_pod(namespace, f"{name}-0", "node-a", [cid(0, name)])
    pod["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": kind, "name": name,
                                           "uid": obj["metadata"]["uid"], "controller": True}]
    return cluster.add_pod(pod)
