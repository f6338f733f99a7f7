"""Names from alerts are checked as whole strings, and a bad one never steers an action
elsewhere: no request reaches the API, no other pod or node is touched."""

from __future__ import annotations

import time

import pytest

from falco_response import Settings, Status, alert_from_dict
from falco_response_kubernetes import ClusterParams, ConnectionParams, NoTarget, Skip
from falco_response_kubernetes.api import Kube
from falco_response_kubernetes.connection import Connection
from falco_response_kubernetes.names import (is_container_id, is_dns_label, is_dns_subdomain,
                                             shown, strip_runtime)
from falco_response_kubernetes.targets import (check_namespace, named_pod, resolve_node,
                                               resolve_pod)
from falco_response_testing.kubernetes import (NODES, PODS, alert_with_fields, cid,
                                               container_alert, outcome_of, pod_alert,
                                               realistic_pod)

# What an attacker appends or prepends: `$` matched before a final "\n" (the old bug).
TAINTS = ["\n", "\r\n", "\r", " ", "\t", "\x00", "\u2028", "%0a", "/", "."]


def method(request):
    return getattr(request.method, "value", request.method)


@pytest.mark.parametrize("taint", TAINTS)
def test_a_name_with_anything_around_it_is_not_a_name(taint):
    for check, good in ((is_dns_label, "kube-system"), (is_dns_subdomain, "web-1"),
                        (is_dns_subdomain, "ip-10-0-1-5.eu-west-1.compute.internal"),
                        (is_container_id, "ee97d9c4186f")):
        assert check(good)
        assert not check(good + taint), (check, taint)
        assert not check(taint + good), (check, taint)


def test_label_length_boundary_is_63():
    assert is_dns_label("a" * 63) and is_dns_label("a" + "-" * 61 + "b")
    assert not is_dns_label("a" * 64)


def test_subdomain_length_boundary_is_253():
    name = ".".join(["a" * 63] * 3 + ["b" * 61])
    assert len(name) == 253 and is_dns_subdomain(name)
    assert not is_dns_subdomain(name + "c")
    assert not is_dns_subdomain("a" * 254) and is_dns_subdomain("a" * 253)


def test_label_characters():
    for good in ("a", "0", "a0", "0a", "a-0", "a--b", "web-1", "x" * 10):
        assert is_dns_label(good), good
    for bad in ("", "-", "-a", "a-", "A", "aB", "a_b", "a.b", "a b", "é", "a/b", "a:b"):
        assert not is_dns_label(bad), bad


def test_subdomain_characters():
    for good in ("a", "9", "a.b", "a-1.b-2.c", "0.0.0", "node-a", "a" * 63 + ".b"):
        assert is_dns_subdomain(good), good
    for bad in ("", ".", ".a", "a.", "a..b", "a.-b", "a-.b", "-a.b", "A.b", "a_b", "a b",
                "a/b", "a..", "web-1?x=1"):
        assert not is_dns_subdomain(bad), bad


def test_container_id_characters_and_lengths():
    assert is_container_id("0123456789ab") and is_container_id("f" * 64)
    for bad in ("0123456789a", "f" * 65, "0123456789aG", "0123456789AB", "host",
                "0123456789ab\n", "x0123456789ab"):
        assert not is_container_id(bad), bad


def test_strip_runtime_takes_off_one_prefix_only():
    """``x://y://id`` keeps ``y://id``, which is then no container id (not ``id``)."""
    assert strip_runtime("containerd://" + "ab" * 6) == "ab" * 6
    assert strip_runtime("docker://cri-o://" + "ab" * 6) == "cri-o://" + "ab" * 6
    assert not is_container_id(strip_runtime("docker://cri-o://" + "ab" * 6))


def test_shown_quotes_and_cuts():
    assert shown("kube-system\n") == "'kube-system\\n'"
    assert shown("a" * 81) == repr("a" * 80 + "…") and shown("a" * 80) == repr("a" * 80)
    assert shown("a" * 81, limit=80) == repr("a" * 80 + "…")
    assert shown("a" * 80, limit=80) == repr("a" * 80)


@pytest.mark.parametrize("fields", [
    {"k8s.ns.name": "kube-system\n", "k8s.pod.name": "coredns-1"},
    {"k8s.ns.name": "default", "k8s.pod.name": "web-1\n"},
    {"k8s.ns.name": "kube-system\n", "container.id": "ee97d9c4186f"},
    {"k8s.pod.name": "web-1\n", "container.id": "ee97d9c4186f"},
    {"ka.target.resource": "pods", "ka.target.namespace": "kube-system\n",
     "ka.target.name": "coredns-1"},
])
@pytest.mark.parametrize("action", ["delete-pod", "isolate-pod", "taint-node", "cordon-node"])
def test_a_bad_name_is_skipped_and_nothing_is_asked_of_the_api(cluster, engine_for, fields,
                                                               action):
    """taint-node once fell back to the alert's hostname for ``web-1\\n``; the protected
    namespace check let ``kube-system\\n`` through and it reached a URL as kube-system%0A."""
    cluster.add_node("node-a")
    cluster.add_pod(realistic_pod("kube-system", "coredns-1", "node-a", [cid(1)]))
    cluster.add_pod(realistic_pod("default", "web-1", "node-a", ["ee97d9c4186f" + "0" * 52]))
    out = outcome_of(engine_for(action), alert_with_fields(fields, hostname="node-a"))
    assert out.status is Status.SKIPPED, out
    assert "is not a valid Kubernetes name" in out.reason
    assert "\\n" in out.reason                   # the value is quoted, not printed raw
    assert cluster.requests() == []
    node = cluster.obj(NODES, None, "node-a")
    assert not node["spec"].get("taints") and not node["spec"].get("unschedulable")
    assert cluster.obj(PODS, "kube-system", "coredns-1") is not None
    assert cluster.obj(PODS, "default", "web-1") is not None


@pytest.mark.parametrize("action", ["delete-pod", "taint-node"])
@pytest.mark.parametrize("fields, hostname, what", [
    ({"container.id": "ee97d9c4186f\n"}, "node-a", "not a container id"),
    ({"container.id": "ee97d9c4186f"}, "node-a\n", "not a valid Kubernetes node name"),
    ({}, "node-a\n", "not a valid Kubernetes node name"),
])
def test_a_bad_container_id_or_hostname_is_skipped(cluster, engine_for, action, fields,
                                                   hostname, what):
    cluster.add_node("node-a")
    cluster.add_pod(realistic_pod("default", "web-1", "node-a", ["ee97d9c4186f" + "0" * 52]))
    out = outcome_of(engine_for(action), alert_with_fields(fields, hostname=hostname))
    assert out.status is Status.SKIPPED, out
    assert what in out.reason
    assert cluster.requests() == []
    assert not cluster.obj(NODES, None, "node-a")["spec"].get("taints")


def test_a_host_process_still_taints_its_own_node(cluster, engine_for):
    """container.id "host" is Falco's word for a host process: the node is the target."""
    cluster.add_node("node-a")
    out = outcome_of(engine_for("taint-node"), container_alert("host", hostname="node-a"))
    assert (out.status, out.target) == (Status.OK, "node:node-a"), out


# -- the resolution functions themselves, against kmock over HTTP ---------------------------

@pytest.fixture
def kube(kubeconfig):
    connection = Connection(ConnectionParams(cluster=ClusterParams(kubeconfig=kubeconfig)))
    return Kube(connection.api_client(), 2.0, time.monotonic() + 5)


SETTINGS = Settings()


def test_protected_namespace_is_refused_before_any_read(cluster, kube):
    cluster.add_node("node-a")
    cluster.add_pod(realistic_pod("kube-system", "coredns-1", "node-a", [cid(1)]))
    the_alert = alert_from_dict(pod_alert("kube-system", "coredns-1"))
    for resolve in (resolve_pod, resolve_node):
        with pytest.raises(Skip) as caught:
            resolve(kube, the_alert, SETTINGS)
        assert caught.value.reason == "namespace kube-system is protected"
        assert caught.value.target == "namespace:kube-system"
        assert not isinstance(caught.value, NoTarget)
    assert cluster.requests() == []


def test_a_namespace_outside_the_protected_set_is_read(cluster, kube):
    cluster.add_node("node-a")
    cluster.add_pod(realistic_pod("kube-system", "coredns-1", "node-a", [cid(1)]))
    settings = Settings(protected_namespaces=frozenset({"falco"}))
    resolved = resolve_pod(kube, alert_from_dict(pod_alert("kube-system", "coredns-1")), settings)
    assert (resolved.namespace, resolved.name, resolved.how) == (
        "kube-system", "coredns-1", "k8s.ns.name/k8s.pod.name")
    assert resolved.pod is not None and resolved.target == "pod:kube-system/coredns-1"
    assert [r.url.path for r in cluster.requests()] == [
        "/api/v1/namespaces/kube-system/pods/coredns-1"]
    check_namespace("kube-system", settings)
    with pytest.raises(Skip):
        check_namespace("falco", settings)


def test_named_pod_reports_the_fields_it_used():
    assert named_pod(alert_from_dict(pod_alert("default", "web-1"))) == (
        "default", "web-1", "k8s.ns.name/k8s.pod.name")
    audit = alert_with_fields({"ka.target.resource": "pods", "ka.target.namespace": "default",
                   "ka.target.name": "web-1"}, source="k8s_audit")
    assert named_pod(alert_from_dict(audit)) == ("default", "web-1", "ka.target.*")
    assert named_pod(alert_from_dict(alert_with_fields({"k8s.ns.name": "default"}))) is None
    assert named_pod(alert_from_dict(alert_with_fields({"k8s.pod.name": "web-1"}))) is None
    with pytest.raises(Skip, match="from ka.target.name is not"):
        named_pod(alert_from_dict(alert_with_fields({**audit["output_fields"], "ka.target.name": "a\n"})))


def test_a_pod_named_but_gone_falls_back_only_to_the_alerts_own_node(cluster, kube):
    cluster.add_node("node-a")
    node, resolved = resolve_node(kube, alert_from_dict(pod_alert("default", "gone-1")),
                                  SETTINGS)
    assert node == "node-a" and resolved is not None and resolved.pod is None
