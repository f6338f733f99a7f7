"""Least privilege: every call collect-evidence makes is allowed by
deploy/kubernetes/rbac/evidence.yaml, and nothing more is granted (all reads)."""

from __future__ import annotations

from pathlib import Path

from evidence_support import evidence_pod

from falco_response import Status
from falco_response_testing.kubernetes import (cid, cluster_role_permissions, container_alert,
                                               outcome_of, permission_of, pod_alert, realistic_pod)

ROLE = Path(__file__).resolve().parents[3] / "deploy/kubernetes/rbac/evidence.yaml"


def owned(cluster, name, kind, resource, group="apps/v1", owner=None):
    obj = {"apiVersion": group, "kind": kind,
           "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"}}
    if owner:
        obj["metadata"]["ownerReferences"] = [owner]
    cluster.kmock.objects[resource, "default", name] = obj
    return {"apiVersion": group, "kind": kind, "name": name, "uid": f"uid-{name}",
            "controller": True}


def test_the_cluster_role_grants_exactly_what_collect_evidence_uses(cluster, engine_for,
                                                                   tmp_path):
    pod = evidence_pod(cluster)
    cron = owned(cluster, "nightly", "CronJob", "batch/v1/cronjobs", "batch/v1")
    refs = {"sts-0": owned(cluster, "sts", "StatefulSet", "apps/v1/statefulsets"),
            "ds-x": owned(cluster, "ds", "DaemonSet", "apps/v1/daemonsets"),
            "job-x": owned(cluster, "nightly-1", "Job", "batch/v1/jobs", "batch/v1", cron)}
    for i, (name, ref) in enumerate(refs.items()):
        other = realistic_pod("default", name, "node-a", [cid(i, "own")])
        other["metadata"]["ownerReferences"] = [ref]
        cluster.add_pod(other)
    engine = engine_for("collect-evidence", {"sink": f"file://{tmp_path}/ev"})
    container = pod["status"]["containerStatuses"][0]["containerID"].split("://")[1]
    for payload in [container_alert(container[:12]), *(pod_alert("default", n) for n in refs)]:
        assert outcome_of(engine, payload).status is Status.OK
    used = {permission_of(r) for r in cluster.requests()}
    assert used == cluster_role_permissions(ROLE)
