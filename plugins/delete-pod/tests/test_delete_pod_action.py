"""delete-pod through the real Engine against kmock, driven by the official client over HTTP."""

from __future__ import annotations


from falco_response import Status
from falco_response_testing.kubernetes import (PODS, alert_with_fields, cid, container_alert,
                                               outcome_of, pod_alert, realistic_pod, validate)


def method(request):
    return getattr(request.method, "value", request.method)


def paths(requests):
    return [(method(r), r.url.path) for r in requests]


def web_pod(cluster, name="web-1", namespace="default", node="node-a", **kwargs):
    return cluster.add_pod(realistic_pod(namespace, name, node, [cid(hash(name))], **kwargs))


def test_deletes_the_named_pod(cluster, engine_for):
    web_pod(cluster)
    out = outcome_of(engine_for("delete-pod"), pod_alert("default", "web-1"))
    assert out.status is Status.OK, out
    assert out.reason == "deleted (grace 0s)"
    assert out.target == "pod:default/web-1"
    deletes = [r for r in cluster.writes()]
    assert paths(deletes) == [("DELETE", "/api/v1/namespaces/default/pods/web-1")]
    assert deletes[0].data["gracePeriodSeconds"] == 0
    assert deletes[0].data["preconditions"] == {"uid": "uid-default-web-1"}
    assert cluster.obj(PODS, "default", "web-1") is None


def test_second_run_is_already_gone_and_writes_nothing(cluster, engine_for):
    web_pod(cluster)
    engine = engine_for("delete-pod", {"grace_period_seconds": 5})
    first = outcome_of(engine, pod_alert("default", "web-1"))
    assert first.reason == "deleted (grace 5s)"
    cluster.clear_requests()
    second = outcome_of(engine, pod_alert("default", "web-1"))
    assert (second.status, second.reason) == (Status.OK, "already gone")
    assert cluster.writes() == []


def test_dry_run_says_the_exact_call_and_writes_nothing(cluster, engine_for):
    web_pod(cluster)
    out = outcome_of(engine_for("delete-pod", dry_run=True), pod_alert("default", "web-1"))
    assert out.status is Status.DRY_RUN
    assert out.reason == "would DELETE pod default/web-1 (grace 0s)"
    assert out.detail["request"] == "DELETE /api/v1/namespaces/default/pods/web-1"
    assert cluster.requests() and cluster.writes() == []
    assert cluster.obj(PODS, "default", "web-1") is not None


def test_standalone_pod_is_skipped_unless_allowed(cluster, engine_for):
    web_pod(cluster, owner=False)
    out = outcome_of(engine_for("delete-pod"), pod_alert("default", "web-1"))
    assert out.status is Status.SKIPPED and "standalone pod" in out.reason
    assert cluster.writes() == []
    out = outcome_of(engine_for("delete-pod", {"allow_standalone": True}),
                     pod_alert("default", "web-1"))
    assert (out.status, out.reason) == (Status.OK, "deleted (grace 0s)")


def test_mirror_pod_is_skipped(cluster, engine_for):
    web_pod(cluster, annotations={"kubernetes.io/config.mirror": "abc"})
    out = outcome_of(engine_for("delete-pod"), pod_alert("default", "web-1"))
    assert out.status is Status.SKIPPED and "mirror pod" in out.reason
    assert cluster.writes() == []


def test_ignore_annotation_on_pod_or_namespace(cluster, engine_for):
    web_pod(cluster, annotations={"falco-response.io/ignore": "true"})
    cluster.add_namespace("payments", annotations={"falco-response.io/ignore": "true"})
    web_pod(cluster, name="api-7f9", namespace="payments")
    engine = engine_for("delete-pod")
    out = outcome_of(engine, pod_alert("default", "web-1"))
    assert out.status is Status.SKIPPED
    assert out.reason == "pod default/web-1 is annotated falco-response.io/ignore=true"
    out = outcome_of(engine, pod_alert("payments", "api-7f9"))
    assert out.status is Status.SKIPPED
    assert out.reason == "namespace payments is annotated falco-response.io/ignore=true"
    assert cluster.writes() == []


def test_protected_namespace_named_by_the_alert(cluster, engine_for):
    web_pod(cluster, name="coredns-1", namespace="kube-system")
    out = outcome_of(engine_for("delete-pod"), pod_alert("kube-system", "coredns-1"))
    assert (out.status, out.reason) == (Status.SKIPPED, "namespace kube-system is protected")
    assert cluster.requests() == []


def test_audit_alert_cannot_reach_a_protected_namespace(cluster, engine_for):
    """ka.target.* names the pod for k8s_audit alerts: the same checks apply."""
    web_pod(cluster, name="coredns-1", namespace="kube-system")
    payload = alert_with_fields({"ka.target.resource": "pods", "ka.target.namespace": "kube-system",
                     "ka.target.name": "coredns-1"}, rule="Attach/Exec Pod", source="k8s_audit")
    out = outcome_of(engine_for("delete-pod"), payload)
    assert out.status is Status.SKIPPED and "kube-system is protected" in out.reason
    assert cluster.writes() == []


def test_audit_alert_names_the_pod(cluster, engine_for):
    web_pod(cluster)
    payload = alert_with_fields({"ka.target.resource": "pods", "ka.target.namespace": "default",
                     "ka.target.name": "web-1"}, rule="Attach/Exec Pod", source="k8s_audit",
                     hostname="falco-k8saudit-96d7f6f99-vwjgc")
    out = outcome_of(engine_for("delete-pod"), payload)
    assert (out.status, out.target, out.detail["via"]) == (Status.OK, "pod:default/web-1",
                                                           "ka.target.*")


def test_container_id_resolving_into_a_protected_namespace_is_skipped(cluster, engine_for):
    """The alert names only a container: it turns out to be kube-system's, so nothing happens."""
    pod = web_pod(cluster, name="kube-proxy-x1", namespace="kube-system")
    container = pod["status"]["containerStatuses"][0]["containerID"].split("://")[1]
    out = outcome_of(engine_for("delete-pod"), container_alert(container[:12]))
    assert out.status is Status.SKIPPED
    assert out.reason == "namespace kube-system is protected"
    assert cluster.writes() == []


def test_names_that_are_not_kubernetes_names_are_refused(cluster, engine_for):
    web_pod(cluster, name="coredns-1", namespace="kube-system")
    engine = engine_for("delete-pod")
    for ns, name in [("default", "../kube-system/pods/coredns-1"), ("default/../kube-system",
                     "coredns-1"), ("default", "web-1?dryRun=All"), ("Default", "web-1")]:
        out = outcome_of(engine, pod_alert(ns, name))
        assert out.status is Status.SKIPPED, (ns, name, out)
        assert "is not a valid Kubernetes name" in out.reason
    assert cluster.requests() == []


def test_no_target_says_which_fields_are_missing(cluster, engine_for):
    out = outcome_of(engine_for("delete-pod"), alert_with_fields({"proc.name": "sh"}, hostname=None))
    assert out.status is Status.SKIPPED
    assert "k8s.ns.name/k8s.pod.name" in out.reason and "container.id and hostname" in out.reason
    out = outcome_of(engine_for("delete-pod"), container_alert("host"))
    assert out.status is Status.SKIPPED and "not a container id" in out.reason
    assert cluster.requests() == []


def test_resolution_by_container_id_on_a_node_with_200_pods(cluster, engine_for):
    for i in range(200):
        web_pod(cluster, name=f"app-{i}-5d8f7", node="node-a")
    for i in range(30):
        web_pod(cluster, name=f"other-{i}-5d8f7", node="node-b")
    target = cluster.add_pod(realistic_pod("default", "api-7f9", "node-a",
                                           [cid(1, "sidecar"), cid(2, "main")]))
    second = target["status"]["containerStatuses"][1]["containerID"].split("://")[1]
    out = outcome_of(engine_for("delete-pod"), container_alert(second[:12], hostname="node-a"))
    assert (out.status, out.target) == (Status.OK, "pod:default/api-7f9")
    assert out.detail["via"] == "container.id on hostname"
    lists = [r for r in cluster.requests() if r.name is None and r.resource is not None
             and r.resource.plural == "pods"]
    assert len(lists) == 1
    assert lists[0].url.path == "/api/v1/pods"
    assert lists[0].params["fieldSelector"] == "spec.nodeName=node-a"
    assert paths(cluster.writes()) == [("DELETE", "/api/v1/namespaces/default/pods/api-7f9")]


def test_container_on_another_node_is_not_found(cluster, engine_for):
    pod = web_pod(cluster, name="api-7f9", node="node-b")
    container = pod["status"]["containerStatuses"][0]["containerID"].split("://")[1]
    out = outcome_of(engine_for("delete-pod"), container_alert(container[:12], hostname="node-a"))
    assert out.status is Status.SKIPPED
    assert out.reason == f"no pod on node node-a runs container {container[:12]}"
    assert cluster.writes() == []


def test_evict_posts_an_eviction(cluster, engine_for):
    web_pod(cluster)
    out = outcome_of(engine_for("delete-pod", {"mode": "evict", "grace_period_seconds": 10}),
                     pod_alert("default", "web-1"))
    assert (out.status, out.reason) == (Status.OK, "evicted (grace 10s)")
    [post] = cluster.writes()
    assert post.url.path == "/api/v1/namespaces/default/pods/web-1/eviction"
    assert post.data["kind"] == "Eviction" and post.data["apiVersion"] == "policy/v1"
    assert post.data["deleteOptions"] == {"gracePeriodSeconds": 10}
    validate(post.data)
    assert cluster.evicted == [("default", "web-1")]


def test_eviction_blocked_by_a_disruption_budget(cluster, engine_for):
    web_pod(cluster)
    cluster.block_evictions()
    out = outcome_of(engine_for("delete-pod", {"mode": "evict"}), pod_alert("default", "web-1"))
    assert out.status is Status.FAILED
    assert "PodDisruptionBudget" in out.reason and "disruption budget" in out.reason
    assert out.detail["status"] == 429
    assert len(cluster.writes()) == 1  # a budget's 429 is an answer, not retried
    assert cluster.obj(PODS, "default", "web-1") is not None


def test_dry_run_evict(cluster, engine_for):
    web_pod(cluster)
    out = outcome_of(engine_for("delete-pod", {"mode": "evict"}, dry_run=True),
                     pod_alert("default", "web-1"))
    assert out.reason == "would POST eviction for pod default/web-1 (grace 0s)"
    assert cluster.writes() == []


def test_500_twice_then_success(cluster, engine_for):
    web_pod(cluster)
    failed = cluster.fail("GET", "/api/v1/namespaces/default/pods/web-1", [500, 503])
    out = outcome_of(engine_for("delete-pod"), pod_alert("default", "web-1"))
    assert (out.status, out.reason) == (Status.OK, "deleted (grace 0s)")
    assert len(failed) == 2
    gets = [r for r in cluster.requests() if method(r) == "GET" and r.name == "web-1"]
    assert len(gets) == 3


def test_429_is_retried_but_403_is_not(cluster, engine_for):
    web_pod(cluster)
    cluster.fail("GET", "/api/v1/namespaces/default/pods/web-1", [429])
    out = outcome_of(engine_for("delete-pod"), pod_alert("default", "web-1"))
    assert out.status is Status.OK
    web_pod(cluster, name="web-2")
    cluster.fail("GET", "/api/v1/namespaces/default/pods/web-2", [403, 403])
    cluster.clear_requests()
    out = outcome_of(engine_for("delete-pod"), pod_alert("default", "web-2"))
    assert out.status is Status.FAILED
    assert out.reason.startswith("GET pod default/web-2 failed: 403")
    assert len(cluster.requests()) == 1


def test_timeout_is_a_failed_outcome(cluster, engine_for):
    """The GET never answers: each attempt ends at the call's own timeout and is retried until
    the deadline; a call slowed by a loaded machine, not hung, would just be retried."""
    web_pod(cluster)
    held = cluster.hang("GET", "/api/v1/namespaces/default/pods/web-1")
    engine = engine_for("delete-pod", {"timeout_seconds": 0.5},
                        settings={"action_timeout": "2s"})
    out = outcome_of(engine, pod_alert("default", "web-1"))
    assert out.status is Status.FAILED
    assert out.reason == "GET pod default/web-1 failed: timed out"
    assert out.detail["timed_out"] is True
    assert held and cluster.writes() == []


def test_records_a_valid_event(cluster, engine_for):
    web_pod(cluster)
    out = outcome_of(engine_for("delete-pod", {"record_event": True}),
                     pod_alert("default", "web-1"))
    assert out.status is Status.OK and out.detail["event"] == "recorded"
    [delete, event] = cluster.writes()
    assert event.url.path == "/api/v1/namespaces/default/events"
    body = event.data
    validate(body)
    assert body["reason"] == "FalcoResponse"
    assert body["involvedObject"] == {"apiVersion": "v1", "kind": "Pod", "name": "web-1",
                                      "namespace": "default", "uid": "uid-default-web-1"}
    assert "Terminal shell in container" in body["message"]


def test_container_id_prefix_matching_two_pods_is_skipped(cluster, engine_for):
    shared = "abcdef012345"
    cluster.add_pod(realistic_pod("default", "one-1", "node-a", [shared + "0" * 52]))
    cluster.add_pod(realistic_pod("default", "two-1", "node-a", [shared + "1" * 52]))
    out = outcome_of(engine_for("delete-pod"), container_alert(shared))
    assert out.status is Status.SKIPPED
    assert out.reason.startswith(f"container id {shared} matches several pods on node node-a")
    assert cluster.writes() == []
