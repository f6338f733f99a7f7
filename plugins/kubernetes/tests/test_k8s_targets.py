"""targets.py against kmock over HTTP: which pod or node an alert names, what each refusal
says and which target it reports, and that a refusal comes before any read it would need."""

from __future__ import annotations

import time

import pytest

from falco_response import Settings, alert_from_dict
from falco_response_kubernetes import ClusterParams, ConnectionParams, NoTarget, Skip
from falco_response_kubernetes.api import Kube
from falco_response_kubernetes.connection import Connection
from falco_response_kubernetes.targets import (IGNORE_ANNOTATION, check_node, check_pod, meta,
                                               named_pod, pod_by_container, resolve_node,
                                               resolve_pod)
from falco_response_testing.kubernetes import (alert_with_fields, cid, container_alert, pod_alert,
                                               realistic_pod)

SETTINGS = Settings()
IGNORED = {IGNORE_ANNOTATION: " True "}


@pytest.fixture
def kube(kubeconfig):
    connection = Connection(ConnectionParams(cluster=ClusterParams(kubeconfig=kubeconfig)))
    return Kube(connection.api_client(), 2.0, time.monotonic() + 5)


def paths(cluster):
    return [r.url.path for r in cluster.requests()]


def test_meta_is_a_dict_whatever_the_object_holds():
    assert meta({"metadata": {"name": "x"}}) == {"name": "x"}
    assert meta({"metadata": "x"}) == {} and meta({"metadata": None}) == {} and meta({}) == {}


def test_named_pod_says_which_field_was_bad():
    with pytest.raises(Skip, match=r"namespace 'a_b' from k8s.ns.name is not a valid"):
        named_pod(alert_from_dict(alert_with_fields({"k8s.ns.name": "a_b"})))
    with pytest.raises(Skip, match=r"pod name 'A' from k8s.pod.name is not a valid"):
        named_pod(alert_from_dict(alert_with_fields({"k8s.pod.name": "A"})))
    audit = {"ka.target.resource": "pods", "ka.target.namespace": "a_b", "ka.target.name": "x"}
    with pytest.raises(Skip, match=r"namespace 'a_b' from ka.target.namespace is not a valid"):
        named_pod(alert_from_dict(alert_with_fields(audit, source="k8s_audit")))


@pytest.mark.parametrize("key", ["initContainerStatuses", "ephemeralContainerStatuses"])
def test_a_container_id_of_an_init_or_ephemeral_container_finds_its_pod(cluster, kube, key):
    """``kubectl debug`` runs an ephemeral container: a shell there is the pod's."""
    pod = realistic_pod("default", "web-1", "node-a", [cid(1)])
    pod["status"][key] = [{"name": "debugger", "containerID": f"containerd://{cid(2)}"}]
    cluster.add_pod(pod)
    cluster.add_pod(realistic_pod("default", "web-2", "node-a", [cid(3)]))
    found = pod_by_container(kube, alert_from_dict(container_alert(cid(2)[:12])))
    assert (found.namespace, found.name, found.how) == ("default", "web-1",
                                                        "container.id on hostname")


def test_container_statuses_without_an_id_match_nothing(cluster, kube):
    pod = realistic_pod("default", "web-1", "node-a", [cid(1)])
    pod["status"]["containerStatuses"] = [{"name": "pending"}, None, {"containerID": ""}]
    cluster.add_pod(pod)
    with pytest.raises(NoTarget) as caught:
        pod_by_container(kube, alert_from_dict(container_alert(cid(1)[:12])))
    assert caught.value.reason == f"no pod on node node-a runs container {cid(1)[:12]}"
    assert caught.value.target == "node:node-a"


def test_what_is_missing_to_find_a_pod_by_container(kube):
    for payload, missing in ((alert_with_fields({}, hostname="node-a"), "container.id"),
                             (container_alert(cid(1), hostname=None), "hostname"),
                             (alert_with_fields({}, hostname=None), "container.id and hostname")):
        with pytest.raises(NoTarget) as caught:
            pod_by_container(kube, alert_from_dict(payload))
        assert caught.value.reason == (
            "no target: the alert has no k8s.ns.name/k8s.pod.name (nor ka.target.* for a pod) "
            f"and no {missing} to find the pod by container")


def test_a_host_process_is_no_target_and_garbage_is_a_skip(cluster, kube):
    with pytest.raises(NoTarget) as caught:
        pod_by_container(kube, alert_from_dict(container_alert("host")))
    assert caught.value.reason == ("container.id 'host' is not a container id "
                                   "(the process ran on the host)")
    with pytest.raises(Skip) as caught:
        pod_by_container(kube, alert_from_dict(container_alert("abc")))
    assert not isinstance(caught.value, NoTarget)
    assert caught.value.reason == "container.id 'abc' is not a container id"
    assert cluster.requests() == []


def test_several_pods_with_one_container_id_are_named_and_refused(cluster, kube):
    for name in ("web-1", "web-2", "web-3", "web-4"):
        cluster.add_pod(realistic_pod("default", name, "node-a", [cid(1)]))
    with pytest.raises(Skip) as caught:
        pod_by_container(kube, alert_from_dict(container_alert(cid(1)[:12])))
    assert caught.value.reason == (f"container id {cid(1)[:12]} matches several pods on node "
                                   "node-a: default/web-1, default/web-2, default/web-3")
    assert caught.value.target == "node:node-a"


def test_ignore_annotations_name_their_target(cluster, kube):
    cluster.add_namespace("payments", annotations=IGNORED)
    cluster.add_pod(realistic_pod("default", "web-1", "node-a", [cid(1)], annotations=IGNORED))
    cluster.add_pod(realistic_pod("payments", "api-1", "node-a", [cid(2)]))
    cluster.add_pod(realistic_pod("default", "web-2", "node-a", [cid(3)],
                                  annotations={IGNORE_ANNOTATION: "false"}))
    resolved = resolve_pod(kube, alert_from_dict(pod_alert("default", "web-1")), SETTINGS)
    with pytest.raises(Skip) as caught:
        check_pod(kube, resolved, SETTINGS)
    assert caught.value.reason == f"pod default/web-1 is annotated {IGNORE_ANNOTATION}=true"
    assert caught.value.target == "pod:default/web-1"
    resolved = resolve_pod(kube, alert_from_dict(pod_alert("payments", "api-1")), SETTINGS)
    with pytest.raises(Skip) as caught:
        check_pod(kube, resolved, SETTINGS)
    assert caught.value.reason == f"namespace payments is annotated {IGNORE_ANNOTATION}=true"
    assert caught.value.target == "pod:payments/api-1"
    check_pod(kube, resolve_pod(kube, alert_from_dict(pod_alert("default", "web-2")), SETTINGS),
              SETTINGS)
    with pytest.raises(Skip) as caught:
        check_node({"metadata": {"annotations": IGNORED}}, "node-a")
    assert caught.value.target == "node:node-a"
    assert caught.value.reason == f"node node-a is annotated {IGNORE_ANNOTATION}=true"
    check_node({"metadata": {"annotations": {IGNORE_ANNOTATION: "no"}}}, "node-a")
    check_node({}, "node-a")


def test_resolve_node_takes_the_pods_node_and_checks_the_pod_first(cluster, kube):
    cluster.add_pod(realistic_pod("default", "web-1", "node-b", [cid(1)]))
    cluster.add_pod(realistic_pod("default", "quiet-1", "node-b", [cid(2)], annotations=IGNORED))
    node, resolved = resolve_node(kube, alert_from_dict(pod_alert("default", "web-1")), SETTINGS)
    assert node == "node-b" and resolved is not None and resolved.name == "web-1"
    with pytest.raises(Skip, match="pod default/quiet-1 is annotated"):
        resolve_node(kube, alert_from_dict(pod_alert("default", "quiet-1")), SETTINGS)


def test_resolve_node_without_pod_or_hostname(cluster, kube):
    with pytest.raises(Skip) as caught:
        resolve_node(kube, alert_from_dict(alert_with_fields({}, hostname=None)), SETTINGS)
    assert caught.value.reason == "no target: the alert names no pod with a node and has no hostname"
    node, resolved = resolve_node(kube, alert_from_dict(container_alert("host")), SETTINGS)
    assert (node, resolved) == ("node-a", None)
