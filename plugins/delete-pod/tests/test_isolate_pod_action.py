"""isolate-pod through the real Engine against kmock."""

from __future__ import annotations

from falco_response import Status
from falco_response_testing.kubernetes import (NETPOLS, PODS, cid, container_alert, outcome_of,
                                               pod_alert, realistic_pod, status_body, validate)

QUARANTINE = "falco-response.io/quarantine"


def method(request):
    return getattr(request.method, "value", request.method)


def paths(requests):
    return [(method(r), r.url.path) for r in requests]


def add_web(cluster, name="web-1", namespace="default", **kwargs):
    return cluster.add_pod(realistic_pod(namespace, name, "node-a", [cid(7, name)], **kwargs))


def test_isolates_with_a_valid_deny_all_policy_then_is_idempotent(cluster, engine_for):
    add_web(cluster)
    engine = engine_for("isolate-pod", {"record_event": True})
    out = outcome_of(engine, pod_alert("default", "web-1"))
    assert out.status is Status.OK, out
    assert out.reason == ("isolated: CREATE networkpolicy default/falco-response-quarantine and "
                          f"PATCH pod default/web-1 label {QUARANTINE}=true")
    create, patch, event = cluster.writes()
    assert paths([create, patch]) == [
        ("POST", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies"),
        ("PATCH", "/api/v1/namespaces/default/pods/web-1")]
    policy = create.data
    validate(policy)
    assert policy["spec"] == {"podSelector": {"matchLabels": {QUARANTINE: "true"}},
                              "policyTypes": ["Ingress", "Egress"]}
    assert "ingress" not in policy["spec"] and "egress" not in policy["spec"]
    assert patch.data == {"metadata": {"labels": {QUARANTINE: "true"}}}
    assert patch.headers["Content-Type"] == "application/merge-patch+json"
    validate(event.data)
    assert cluster.obj(PODS, "default", "web-1")["metadata"]["labels"][QUARANTINE] == "true"
    assert cluster.obj(NETPOLS, "default", "falco-response-quarantine") is not None

    cluster.clear_requests()
    again = outcome_of(engine, pod_alert("default", "web-1"))
    assert (again.status, again.reason) == (Status.OK, "already isolated")
    assert cluster.writes() == []


def test_allow_dns_adds_a_dns_only_egress_policy(cluster, engine_for):
    add_web(cluster)
    out = outcome_of(engine_for("isolate-pod", {"allow_dns": True}), pod_alert("default", "web-1"))
    assert out.status is Status.OK
    creates = [r for r in cluster.writes() if method(r) == "POST"]
    assert [c.data["metadata"]["name"] for c in creates] == [
        "falco-response-quarantine", "falco-response-quarantine-allow-dns"]
    for create in creates:
        validate(create.data)
    dns = creates[1].data["spec"]
    assert dns["policyTypes"] == ["Egress"]
    [rule] = dns["egress"]
    assert rule["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    assert rule["to"] == [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]


def test_dry_run_lists_the_calls_and_writes_nothing(cluster, engine_for):
    add_web(cluster)
    out = outcome_of(engine_for("isolate-pod", dry_run=True), pod_alert("default", "web-1"))
    assert out.status is Status.DRY_RUN
    assert out.reason == ("would CREATE networkpolicy default/falco-response-quarantine and "
                          f"PATCH pod default/web-1 label {QUARANTINE}=true")
    assert cluster.writes() == []


def test_policy_that_drifted_is_patched_back(cluster, engine_for):
    add_web(cluster, labels={QUARANTINE: "true"})
    cluster.kmock.objects[NETPOLS, "default", "falco-response-quarantine"] = {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "falco-response-quarantine", "namespace": "default"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}
    out = outcome_of(engine_for("isolate-pod"), pod_alert("default", "web-1"))
    assert out.reason == "isolated: PATCH networkpolicy default/falco-response-quarantine spec"
    [patch] = cluster.writes()
    assert patch.data["spec"]["policyTypes"] == ["Ingress", "Egress"]


def test_policy_created_meanwhile_is_fine(cluster, engine_for):
    add_web(cluster)
    cluster.fail("POST", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies", [409],
                 body=lambda code: status_body(code, "AlreadyExists", "already exists"))
    out = outcome_of(engine_for("isolate-pod"), pod_alert("default", "web-1"))
    assert out.status is Status.OK
    assert [method(r) for r in cluster.writes()] == ["POST", "PATCH"]


def test_gone_pod_and_protected_target_are_skipped(cluster, engine_for):
    engine = engine_for("isolate-pod")
    out = outcome_of(engine, pod_alert("default", "ghost-1"))
    assert (out.status, out.reason) == (Status.SKIPPED, "pod default/ghost-1 is gone: nothing "
                                                        "to isolate")
    pod = add_web(cluster, name="coredns-1", namespace="kube-system")
    container = pod["status"]["containerStatuses"][0]["containerID"].split("://")[1]
    out = outcome_of(engine, container_alert(container[:12]))
    assert (out.status, out.reason) == (Status.SKIPPED, "namespace kube-system is protected")
    assert cluster.writes() == []


def test_ignore_annotation(cluster, engine_for):
    add_web(cluster, annotations={"falco-response.io/ignore": "TRUE"})
    out = outcome_of(engine_for("isolate-pod"), pod_alert("default", "web-1"))
    assert out.status is Status.SKIPPED and "falco-response.io/ignore" in out.reason
    assert cluster.writes() == []
