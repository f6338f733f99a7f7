"""The kit's Kubernetes part as a plugin's tests use it: kmock's emulator in a thread, the
official client over HTTP, and what the kit declares that kmock does not emulate."""

from __future__ import annotations

import pytest
import urllib3
from falco_response import alert_from_dict
from falco_response_testing.kubernetes import (DEPLOYMENTS, PODS, cid, container_alert,
                                               deployment, method, paths, pod_alert,
                                               realistic_pod, set_log, validate)
from kubernetes import client, config
from kubernetes.client.rest import ApiException


@pytest.fixture
def core(kubeconfig):
    return client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))


def test_objects_are_served_to_the_official_client_and_requests_recorded(cluster, core):
    cluster.add_pod(realistic_pod("default", "web-1", "node-a", [cid(1)]))
    pod = core.read_namespaced_pod("web-1", "default")
    assert pod.spec.node_name == "node-a"
    assert pod.status.container_statuses[0].container_id == f"containerd://{cid(1)}"
    assert paths(cluster.requests()) == [("GET", "/api/v1/namespaces/default/pods/web-1")]
    cluster.clear_requests()
    assert cluster.requests() == []
    core.read_namespace("default")
    assert [method(r) for r in cluster.requests()] == ["GET"]


def test_a_node_field_selector_lists_only_that_nodes_pods(cluster, core):
    for i, node in enumerate(["node-a", "node-b", "node-a"]):
        cluster.add_pod(realistic_pod("default", f"web-{i}", node, [cid(i)]))
    listed = core.list_pod_for_all_namespaces(field_selector="spec.nodeName=node-a")
    assert sorted(p.metadata.name for p in listed.items) == ["web-0", "web-2"]


def test_an_eviction_deletes_the_pod_and_a_missing_object_is_none(cluster, core):
    cluster.add_pod(realistic_pod("default", "web-1", "node-a", [cid(1)]))
    body = client.V1Eviction(metadata=client.V1ObjectMeta(name="web-1", namespace="default"))
    core.create_namespaced_pod_eviction("web-1", "default", body)
    assert cluster.evicted == [("default", "web-1")]
    assert cluster.obj(PODS, "default", "web-1") is None
    assert cluster.obj(PODS, "default", "never-stored") is None
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_pod("web-1", "default")
    assert caught.value.status == 404


def test_scale_label_selectors_and_logs_are_declared(cluster, kubeconfig, core):
    [pod] = deployment(cluster, replicas=3)
    apps = client.AppsV1Api(config.new_client_from_config(config_file=kubeconfig))
    apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 0}})
    assert cluster.obj(DEPLOYMENTS, "default", "web")["spec"]["replicas"] == 0
    cluster.add_pod(realistic_pod("default", "other-1", "node-a", [cid(9)]))
    selected = core.list_namespaced_pod("default", label_selector="app=web")
    assert [p.metadata.name for p in selected.items] == [pod["metadata"]["name"]]
    set_log(cluster, "default", pod["metadata"]["name"], "web", b"line 1\n")
    log = core.read_namespaced_pod_log(pod["metadata"]["name"], "default", container="web",
                                       _preload_content=False)
    assert log.data == b"line 1\n"


def test_a_held_request_ends_at_the_clients_timeout_not_the_servers(cluster, core):
    cluster.add_pod(realistic_pod("default", "web-1", "node-a", [cid(1)]))
    held = cluster.hang("GET", "/api/v1/namespaces/default/pods/web-1")
    with pytest.raises(urllib3.exceptions.MaxRetryError) as caught:   # urllib3 retried 3 times
        core.read_namespaced_pod("web-1", "default", _request_timeout=0.3)
    assert isinstance(caught.value.reason, urllib3.exceptions.ReadTimeoutError)
    assert held and {r.url.path for r in held} == {"/api/v1/namespaces/default/pods/web-1"}
    cluster.stop()   # raises unless the server stopped, which a held request would prevent


def test_builders_make_schema_valid_pods_and_alerts_naming_them():
    pod = realistic_pod("payments", "api-7f9-abcde", "node-a", [cid(1), cid(2)])
    validate(pod)
    with pytest.raises(Exception, match="spec"):
        validate({**pod, "spec": {**pod["spec"], "nodename": "typo"}})
    named = alert_from_dict(pod_alert("payments", "api-7f9-abcde"))
    assert (named.pod_namespace, named.pod_name, named.node_name) == \
        ("payments", "api-7f9-abcde", "node-a")
    only_container = alert_from_dict(container_alert(cid(1)[:12], hostname="node-b"))
    assert (only_container.pod_name, only_container.node_name) == (None, "node-b")
    assert cid(1) != cid(2) != cid(1, "b") and len(cid(1)) == 64
