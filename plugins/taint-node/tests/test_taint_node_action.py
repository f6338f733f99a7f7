"""taint-node and cordon-node through the real Engine against kmock."""

from __future__ import annotations

import copy

import kmock

from falco_response import Status
from falco_response_testing.kubernetes import (NODES, alert_with_fields, cid, container_alert,
                                               outcome_of, pod_alert, realistic_pod, status_body,
                                               validate)

OURS = {"key": "falco-response.io/compromised", "effect": "NoSchedule"}
SPOT = {"key": "spot", "value": "true", "effect": "PreferNoSchedule"}


def method(request):
    return getattr(request.method, "value", request.method)


def patches(cluster):
    return [r for r in cluster.writes() if method(r) == "PATCH"]


def setup(cluster, **node):
    cluster.add_node("node-a", taints=[SPOT], **node)
    cluster.add_node("node-b")
    return cluster.add_pod(realistic_pod("default", "web-1", "node-b", [cid(1)]))


def test_taints_the_pods_node_keeping_other_taints(cluster, engine_for):
    cluster.add_node("node-a")
    cluster.add_node("node-b", taints=[SPOT])
    cluster.add_pod(realistic_pod("default", "web-1", "node-b", [cid(1)]))
    out = outcome_of(engine_for("taint-node"), pod_alert("default", "web-1", hostname="node-a"))
    assert out.status is Status.OK, out
    assert (out.target, out.reason) == ("node:node-b",
                                        "tainted falco-response.io/compromised:NoSchedule")
    assert out.detail["via"] == "pod default/web-1"
    [patch] = patches(cluster)
    assert patch.url.path == "/api/v1/nodes/node-b"
    assert patch.headers["Content-Type"] == "application/merge-patch+json"
    assert patch.data == {"metadata": {"resourceVersion": "100"},
                          "spec": {"taints": [SPOT, OURS]}}
    assert cluster.obj(NODES, None, "node-b")["spec"]["taints"] == [SPOT, OURS]


def test_second_run_is_already_tainted_and_writes_nothing(cluster, engine_for):
    setup(cluster)
    engine = engine_for("taint-node", {"value": "falco", "effect": "NoExecute"})
    first = outcome_of(engine, pod_alert("default", "web-1"))
    assert first.reason == "tainted falco-response.io/compromised=falco:NoExecute"
    cluster.clear_requests()
    second = outcome_of(engine, pod_alert("default", "web-1"))
    assert (second.status, second.reason) == (
        Status.OK, "already tainted falco-response.io/compromised=falco:NoExecute")
    assert cluster.writes() == []


def test_same_key_and_effect_is_replaced_not_duplicated(cluster, engine_for):
    old = {**OURS, "value": "old"}
    cluster.add_node("node-a", taints=[old, SPOT])
    out = outcome_of(engine_for("taint-node", {"value": "new"}), alert_with_fields({}))
    assert out.status is Status.OK
    [patch] = patches(cluster)
    assert patch.data["spec"]["taints"] == [SPOT, {**OURS, "value": "new"}]


def test_cordon_too(cluster, engine_for):
    cluster.add_node("node-a")
    engine = engine_for("taint-node", {"cordon": True})
    out = outcome_of(engine, alert_with_fields({}))
    assert out.reason == "tainted falco-response.io/compromised:NoSchedule and cordoned"
    assert out.detail["via"] == "hostname"
    [patch] = patches(cluster)
    assert patch.data["spec"] == {"taints": [OURS], "unschedulable": True}
    cluster.clear_requests()
    again = outcome_of(engine, alert_with_fields({}))
    assert again.reason == "already tainted falco-response.io/compromised:NoSchedule and cordoned"
    assert cluster.writes() == []


def test_conflict_then_success(cluster, engine_for):
    """Another writer changes the node between our read and our write: 409, read, write again."""
    setup(cluster)
    calls = []

    def conflict_once(request):
        if calls:
            return NotImplemented
        calls.append(request)
        node = cluster.kmock.objects[NODES, None, "node-b"]
        theirs = copy.deepcopy(node.history[-2].raw)   # undo our patch (kmock applied it)
        theirs["metadata"]["resourceVersion"] = "101"
        theirs["spec"]["taints"] = [{"key": "other-writer", "effect": "NoSchedule"}]
        node.history.append(theirs)
        return kmock.Response(status=409, payload=status_body(
            409, "Conflict", "the object has been modified; please apply your changes to the "
            "latest version and try again"))

    cluster.react("PATCH", "/api/v1/nodes/node-b", conflict_once)
    out = outcome_of(engine_for("taint-node"), pod_alert("default", "web-1"))
    assert out.status is Status.OK, out
    assert out.detail["conflicts"] == 1
    first, second = patches(cluster)
    assert first.data["metadata"]["resourceVersion"] == "100"
    assert second.data["metadata"]["resourceVersion"] == "101"
    assert second.data["spec"]["taints"] == [{"key": "other-writer", "effect": "NoSchedule"}, OURS]
    node_gets = [r for r in cluster.requests() if method(r) == "GET" and r.name == "node-b"]
    assert len(node_gets) == 2


def test_500_twice_then_success(cluster, engine_for):
    setup(cluster)
    failed = cluster.fail("PATCH", "/api/v1/nodes/node-b", [500, 502])
    out = outcome_of(engine_for("taint-node"), pod_alert("default", "web-1"))
    assert out.status is Status.OK, out
    assert len(failed) == 2 and len(patches(cluster)) == 3


def test_timeout(cluster, engine_for):
    """GET node never answers (GET pod does): the node call's own timeout ends each attempt;
    a GET pod slowed by a loaded machine would be retried, not reported."""
    setup(cluster)
    held = cluster.hang("GET", "/api/v1/nodes/node-b")
    engine = engine_for("taint-node", {"timeout_seconds": 0.5}, settings={"action_timeout": "2s"})
    out = outcome_of(engine, pod_alert("default", "web-1"))
    assert (out.status, out.reason) == (Status.FAILED, "GET node node-b failed: timed out")
    assert out.detail["timed_out"] is True
    assert held and cluster.writes() == []


def test_control_plane_nodes_are_skipped_unless_allowed(cluster, engine_for):
    cluster.add_node("cp-1", labels={"node-role.kubernetes.io/control-plane": ""})
    cluster.add_node("master-1", labels={"node-role.kubernetes.io/master": ""})
    for node in ("cp-1", "master-1"):
        out = outcome_of(engine_for("taint-node"), alert_with_fields({}, hostname=node))
        assert out.status is Status.SKIPPED and "control-plane node" in out.reason
    assert cluster.writes() == []
    out = outcome_of(engine_for("taint-node", {"allow_control_plane": True}),
                     alert_with_fields({}, hostname="cp-1"))
    assert out.status is Status.OK


def test_dry_run(cluster, engine_for):
    setup(cluster)
    out = outcome_of(engine_for("taint-node", {"cordon": True}, dry_run=True),
                     pod_alert("default", "web-1"))
    assert out.status is Status.DRY_RUN
    assert out.reason == ("would PATCH node node-b: add taint falco-response.io/compromised:"
                          "NoSchedule and set spec.unschedulable=true")
    assert cluster.writes() == []


def test_skips(cluster, engine_for):
    cluster.add_node("node-a", annotations={"falco-response.io/ignore": "true"})
    engine = engine_for("taint-node")
    out = outcome_of(engine, alert_with_fields({}))
    assert (out.status, out.reason) == (Status.SKIPPED, "node node-a is annotated "
                                                        "falco-response.io/ignore=true")
    out = outcome_of(engine, alert_with_fields({}, hostname="node-zz"))
    assert (out.status, out.reason) == (Status.SKIPPED, "node node-zz not found")
    out = outcome_of(engine, alert_with_fields({}, hostname=None))
    assert out.status is Status.SKIPPED and out.reason.startswith("no target")
    out = outcome_of(engine, alert_with_fields({}, hostname="node-a;rm -rf /"))
    assert out.status is Status.SKIPPED and "not a valid Kubernetes node name" in out.reason
    assert cluster.writes() == []


def test_pod_in_protected_namespace_does_not_lead_to_its_node(cluster, engine_for):
    cluster.add_node("node-a")
    pod = cluster.add_pod(realistic_pod("kube-system", "aws-node-x", "node-a", [cid(9)]))
    container = pod["status"]["containerStatuses"][0]["containerID"].split("://")[1]
    out = outcome_of(engine_for("taint-node"), container_alert(container[:12]))
    assert (out.status, out.reason) == (Status.SKIPPED, "namespace kube-system is protected")
    assert cluster.writes() == []


def test_records_a_valid_node_event(cluster, engine_for):
    setup(cluster)
    out = outcome_of(engine_for("taint-node", {"record_event": True}),
                     pod_alert("default", "web-1"))
    assert out.detail["event"] == "recorded"
    event = [r for r in cluster.writes() if method(r) == "POST"][0]
    assert event.url.path == "/api/v1/namespaces/default/events"
    validate(event.data)
    assert event.data["involvedObject"]["kind"] == "Node"
    assert "namespace" not in event.data["involvedObject"]


def test_cordon_node(cluster, engine_for):
    setup(cluster)
    engine = engine_for("cordon-node", {"record_event": True})
    out = outcome_of(engine, pod_alert("default", "web-1"))
    assert (out.status, out.target, out.reason) == (Status.OK, "node:node-b", "cordoned")
    patch, event = cluster.writes()
    assert patch.data["spec"] == {"unschedulable": True}
    assert list(patch.data["metadata"]["annotations"]) == ["falco-response.io/cordoned-by"]
    validate(event.data)
    cluster.clear_requests()
    again = outcome_of(engine, pod_alert("default", "web-1"))
    assert (again.status, again.reason) == (Status.OK, "already cordoned")
    assert cluster.writes() == []


def test_cordon_node_dry_run_and_control_plane(cluster, engine_for):
    cluster.add_node("node-a")
    cluster.add_node("cp-1", labels={"node-role.kubernetes.io/control-plane": ""})
    out = outcome_of(engine_for("cordon-node", dry_run=True), alert_with_fields({}))
    assert out.reason == "would PATCH node node-a: set spec.unschedulable=true"
    out = outcome_of(engine_for("cordon-node"), alert_with_fields({}, hostname="cp-1"))
    assert out.status is Status.SKIPPED and "control-plane" in out.reason
    assert cluster.writes() == []


def test_bad_parameters_are_config_errors(engine_for):
    import pytest

    from falco_response import ConfigError

    for params in ({"key": "bad key!"}, {"effect": "Sometimes"}, {"value": "x" * 64},
                   {"timeout_seconds": 0}, {"cluster": {"in_cluster": True, "kubeconfig": "k"}},
                   {"surprise": 1}):
        with pytest.raises(ConfigError):
            engine_for("taint-node", params)


def test_the_cluster_role_grants_exactly_what_the_actions_use(cluster, engine_for):
    from pathlib import Path

    from falco_response_testing.kubernetes import cluster_role_permissions, permission_of

    role = Path(__file__).resolve().parents[3] / "deploy/kubernetes/rbac/taint-node.yaml"
    setup(cluster)
    pod = cluster.add_pod(realistic_pod("default", "api-1", "node-a", [cid(5)]))
    container = pod["status"]["containerStatuses"][0]["containerID"].split("://")[1]
    assert outcome_of(engine_for("taint-node", {"record_event": True}),
                      pod_alert("default", "web-1")).status is Status.OK
    assert outcome_of(engine_for("cordon-node"),
                      container_alert(container[:12])).status is Status.OK
    used = {permission_of(r) for r in cluster.requests()}
    assert used == cluster_role_permissions(role)
