"""Least privilege: every call the distribution's action types (and their undos) make is
allowed by deploy/kubernetes/rbac/delete-pod.yaml, and nothing more is granted."""

from __future__ import annotations

from pathlib import Path

from falco_response_testing.kubernetes import (NETPOLS, cid, cluster_role_permissions,
                                               container_alert, deployment, owned_by,
                                               permission_of, pod_alert, realistic_pod)

from falco_response import Engine, Status
from falco_response.undo import undo

ROLE = Path(__file__).resolve().parents[3] / "deploy/kubernetes/rbac/delete-pod.yaml"


def test_the_cluster_role_grants_exactly_what_the_actions_use(cluster, kubeconfig, tmp_path):
    with_ = {"cluster": {"kubeconfig": kubeconfig}, "timeout_seconds": 2}
    actions = {
        "isolate": ("isolate-pod", {"allow_dns": True, "record_event": True}),
        "evict": ("delete-pod", {"mode": "evict"}),
        "kill": ("delete-pod", {"record_event": True, "min_healthy_replicas": 1}),
        "tag": ("label-pod", {"labels": {"falco-response.io/suspect": "true"}}),
        "suspend": ("scale-to-zero", {}),
    }
    config = {"version": 1,
              "settings": {"store": f"sqlite:///{tmp_path / 's.db'}", "action_timeout": "8s"},
              "actions": {n: {"type": t, "with": {**with_, **p}} for n, (t, p) in actions.items()},
              "responses": [{"name": n, "match": {"rule": n}, "actions": [n]} for n in actions]}
    engine = Engine.from_config(config)
    web = [p["metadata"]["name"] for p in deployment(cluster, replicas=4, ready=4, pods=4)]
    owned_by(cluster, "StatefulSet", "db")
    pod = cluster.add_pod(realistic_pod("default", "solo-1", "node-a", [cid(5, "solo")]))
    cluster.kmock.objects[NETPOLS, "default", "falco-response-quarantine-allow-dns"] = {
        "metadata": {"name": "falco-response-quarantine-allow-dns", "namespace": "default"},
        "spec": {}}
    container = pod["status"]["containerStatuses"][0]["containerID"].split("://")[1]
    runs = [("isolate", pod_alert("default", web[0])), ("evict", pod_alert("default", web[1])),
            ("evict", container_alert(container[:12])),
            ("kill", pod_alert("default", web[2])), ("tag", pod_alert("default", web[3])),
            ("suspend", pod_alert("default", web[3])), ("suspend", pod_alert("default", "db-0"))]
    ids = []
    for name, payload in runs:
        payload["rule"] = name
        [result] = engine.handle(payload)
        assert [o.status for o in result.outcomes] == [Status.OK], result.outcomes
        ids.append(engine.store.history(0)[-1].id)
    for i in (0, 4, 5, 6):
        outcome, _ = undo(engine, ids[i], dry_run=False, by="test")
        assert outcome.status is Status.OK, outcome
    engine.close()
    used = {permission_of(r) for r in cluster.requests()}
    assert used == cluster_role_permissions(ROLE)
