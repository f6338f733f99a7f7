"""delete-pod's workload guards (ignore_daemonsets, ignore_statefulsets, min_healthy_replicas)
and require_evidence, through the real Engine against kmock over HTTP."""

from __future__ import annotations

import pytest
from falco_response_testing.kubernetes import (PODS, deployment, outcome_of, owned_by, paths,
                                               pod_alert)

from falco_response import ConfigError, Status


def test_daemonset_pods_are_left_alone_by_default(cluster, engine_for):
    pod = owned_by(cluster, "DaemonSet", "node-agent")
    out = outcome_of(engine_for("delete-pod"), pod_alert("default", pod["metadata"]["name"]))
    assert out.status is Status.SKIPPED
    assert "belongs to a DaemonSet (ignore_daemonsets: true)" in out.reason
    assert cluster.writes() == []
    out = outcome_of(engine_for("delete-pod", {"ignore_daemonsets": False}),
                     pod_alert("default", pod["metadata"]["name"]))
    assert out.status is Status.OK and cluster.obj(PODS, "default", "node-agent-0") is None


def test_statefulsets_only_when_asked(cluster, engine_for):
    owned_by(cluster, "StatefulSet", "db")
    out = outcome_of(engine_for("delete-pod", {"ignore_statefulsets": True}),
                     pod_alert("default", "db-0"))
    assert (out.status, out.reason) == (Status.SKIPPED, "pod default/db-0 belongs to a "
                                        "StatefulSet (ignore_statefulsets: true)")
    assert cluster.writes() == []
    out = outcome_of(engine_for("delete-pod", {"mode": "evict"}), pod_alert("default", "db-0"))
    assert out.status is Status.OK and cluster.evicted == [("default", "db-0")]


def test_min_healthy_replicas_refuses_with_the_numbers(cluster, engine_for):
    pod = deployment(cluster, replicas=3, ready=2)[0]
    name = pod["metadata"]["name"]
    out = outcome_of(engine_for("delete-pod", {"min_healthy_replicas": 2}),
                     pod_alert("default", name))
    assert out.status is Status.SKIPPED
    assert out.reason == ("would leave 1 of 3 replicas ready; min_healthy_replicas is 2 "
                          "(deployment:default/web)")
    assert cluster.writes() == []
    # the Deployment's status is read through the pod's ReplicaSet: one GET each, no list
    gets = [p for m, p in paths(cluster.requests()) if "/apis/apps/" in p]
    assert gets == ["/apis/apps/v1/namespaces/default/replicasets/web-7f9c8d",
                    "/apis/apps/v1/namespaces/default/deployments/web"]


def test_min_healthy_replicas_as_a_percentage(cluster, engine_for):
    pod = deployment(cluster, replicas=4, ready=4)[0]
    name = pod["metadata"]["name"]
    out = outcome_of(engine_for("delete-pod", {"min_healthy_replicas": "100%"}),
                     pod_alert("default", name))
    assert out.reason == ("would leave 3 of 4 replicas ready; min_healthy_replicas is 100% "
                          "(4 of 4) (deployment:default/web)")
    out = outcome_of(engine_for("delete-pod", {"min_healthy_replicas": "50%"}, dry_run=True),
                     pod_alert("default", name))
    assert out.status is Status.DRY_RUN
    assert out.detail["would_leave"] == 3 and out.detail["min_healthy_replicas"] == 2
    out = outcome_of(engine_for("delete-pod", {"min_healthy_replicas": "50%"}),
                     pod_alert("default", name))
    assert out.status is Status.OK and cluster.obj(PODS, "default", name) is None


def test_an_unready_pod_does_not_count_against_the_minimum(cluster, engine_for):
    pod = deployment(cluster, replicas=3, ready=2)[0]
    stored = cluster.obj(PODS, "default", pod["metadata"]["name"])
    stored["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
    cluster.kmock.objects[PODS, "default", pod["metadata"]["name"]] = stored
    out = outcome_of(engine_for("delete-pod", {"min_healthy_replicas": 2}),
                     pod_alert("default", pod["metadata"]["name"]))
    assert out.status is Status.OK, out


def test_min_healthy_replicas_without_a_readable_owner_fails_closed(cluster, engine_for):
    from falco_response_testing.kubernetes import cid, realistic_pod

    cluster.add_pod(realistic_pod("default", "orphan-1", "node-a", [cid(9)]))
    out = outcome_of(engine_for("delete-pod", {"min_healthy_replicas": 1}),
                     pod_alert("default", "orphan-1"))
    assert out.status is Status.SKIPPED and "no readable Deployment" in out.reason
    assert cluster.writes() == []


@pytest.mark.parametrize("bad", [-1, "abc", "150%", "5"])
def test_bad_min_healthy_replicas_is_a_load_error(kubeconfig, bad):
    from falco_response import Engine

    config = {"version": 1, "actions": {"kill": {"type": "delete-pod", "with": {
        "cluster": {"kubeconfig": kubeconfig}, "min_healthy_replicas": bad}}},
        "responses": [{"name": "r", "actions": ["kill"]}]}
    with pytest.raises(ConfigError) as err:
        Engine.from_config(config)
    assert "min_healthy_replicas" in str(err.value)


def test_require_evidence_without_collection_skips(cluster, engine_for):
    pod = deployment(cluster)[0]
    out = outcome_of(engine_for("delete-pod", {"require_evidence": True}),
                     pod_alert("default", pod["metadata"]["name"]))
    assert out.status is Status.SKIPPED
    assert out.reason.startswith("evidence collection failed: no collect-evidence action ran")
    assert cluster.writes() == []
