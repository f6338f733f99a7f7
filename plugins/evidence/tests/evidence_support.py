"""What only collect-evidence's tests need: a pod with containers, logs (previous ones too),
events and owners in the kit's kmock cluster, and opening the archives it writes."""

from __future__ import annotations

import hashlib
import json
import tarfile
from typing import Any

from falco_response_testing.kubernetes import (DEPLOYMENTS, EVENTS, REPLICASETS, cid, realistic_pod,
                                               set_log)


def evidence_pod(cluster: Any, name: str = "web-7f9c8d-abcde", containers: int = 2,
                 namespace: str = "default") -> dict[str, Any]:
    cluster.add_node("node-a")
    pod = realistic_pod(namespace, name, "node-a", [cid(i, name) for i in range(containers)])
    pod["metadata"]["managedFields"] = [{"manager": "kubelet", "operation": "Update"}]
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
          "metadata": {"name": "web-7f9c8d", "namespace": namespace, "uid": "rs-web",
                       "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                            "name": "web", "uid": "dep-web",
                                            "controller": True}]},
          "spec": {"replicas": 2}, "status": {"readyReplicas": 2}}
    dep = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "web", "namespace": namespace, "uid": "dep-web"},
           "spec": {"replicas": 2}, "status": {"readyReplicas": 2}}
    cluster.put(REPLICASETS, namespace, "web-7f9c8d", rs)
    cluster.put(DEPLOYMENTS, namespace, "web", dep)
    cluster.add_pod(pod)
    uid = pod["metadata"]["uid"]
    for i, reason in enumerate(["Scheduled", "Pulled", "Started"]):
        cluster.put(EVENTS, namespace, f"{name}.{i}", {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{name}.{i}", "namespace": namespace},
            "involvedObject": {"kind": "Pod", "name": name, "namespace": namespace, "uid": uid},
            "reason": reason, "message": f"{reason} ok", "type": "Normal",
            "lastTimestamp": f"2026-11-20T10:00:0{i}Z"})
    cluster.put(EVENTS, namespace, "other.1", {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "other.1", "namespace": namespace},
        "involvedObject": {"kind": "Pod", "name": "other", "namespace": namespace, "uid": "x"},
        "reason": "Killing", "message": "not ours", "type": "Normal"})
    for c in pod["spec"]["containers"]:
        set_log(cluster, namespace, name, c["name"], f"{c['name']} line 1\n{c['name']} line 2\n".encode())
    set_log(cluster, namespace, name, pod["spec"]["containers"][0]["name"],
            b"crashed before\n", previous=True)
    return pod


def open_archive(path: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(manifest, {name: bytes}), checking every manifest entry's size and sha256."""
    with tarfile.open(path, "r:gz") as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
        names = [m.name for m in tar.getmembers()]
    assert names[-1] == "manifest.json"
    manifest = json.loads(members.pop("manifest.json"))
    assert sorted(f["name"] for f in manifest["files"]) == sorted(members)
    for entry in manifest["files"]:
        data = members[entry["name"]]
        assert entry["size"] == len(data), entry
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), entry
    return manifest, members
