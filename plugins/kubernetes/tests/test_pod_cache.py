"""Resolution by container id remembers the last LIST of a node: a repeated lookup is one
GET of the pod by name, verified (uid, node, container) against what that GET returns."""

from __future__ import annotations

import time
from typing import Any

import pytest

from falco_response import Settings, alert_from_dict
from falco_response_kubernetes.api import Kube
from falco_response_kubernetes.connection import Connection
from falco_response_kubernetes.params import ClusterParams, ConnectionParams
from falco_response_kubernetes.pod_cache import PODS_BY_CONTAINER, PodsByContainer
from falco_response_kubernetes.targets import NoTarget, Skip, resolve_pod
from falco_response_testing.kubernetes import cid, container_alert, realistic_pod

NODE = "node-a"
SETTINGS = Settings(dry_run=False, protected_namespaces=frozenset({"kube-system"}))


@pytest.fixture
def node_of_110(cluster: Any) -> Any:
    """The kubelet's default maximum: 110 pods on one node, and 5 on another."""
    PODS_BY_CONTAINER.clear()
    cluster.add_node(NODE)
    cluster.add_node("node-b")
    for i in range(110):
        cluster.add_pod(realistic_pod("default", f"api-7f9c8d-{i:05d}", NODE, [cid(i), cid(i, "s")]))
    for i in range(5):
        cluster.add_pod(realistic_pod("default", f"web-7f9c8d-{i:05d}", "node-b", [cid(i, "b")]))
    yield cluster
    PODS_BY_CONTAINER.clear()


def resolve(kubeconfig: str, container_id: str, node: str = NODE) -> tuple[Any, int]:
    kube = Kube(Connection(ConnectionParams(cluster=ClusterParams(kubeconfig=kubeconfig))).api_client(),
                2.0, time.monotonic() + 5)
    alert = alert_from_dict(container_alert(container_id, hostname=node))
    try:
        return resolve_pod(kube, alert, SETTINGS), kube.calls
    except Skip as skip:
        return skip, kube.calls


def paths(cluster: Any) -> list[str]:
    return [f"{getattr(r.method, 'value', r.method)} {r.url.path}" for r in cluster.requests()]


def test_a_warm_lookup_is_one_get_of_the_pod_by_name(node_of_110: Any, kubeconfig: str) -> None:
    cluster = node_of_110
    first, calls = resolve(kubeconfig, cid(42)[:12])
    assert first.target == "pod:default/api-7f9c8d-00042" and calls == 1
    assert paths(cluster) == ["GET /api/v1/pods"]  # the node's LIST
    cluster.clear_requests()
    for container in (cid(42)[:12], cid(42, "s")[:12], cid(7), cid(108)[:12]):
        found, calls = resolve(kubeconfig, container)
        assert isinstance(found.pod, dict) and calls == 1, found
        assert found.how == "container.id on hostname"
    assert paths(cluster) == ["GET /api/v1/namespaces/default/pods/api-7f9c8d-00042"] * 2 + [
        "GET /api/v1/namespaces/default/pods/api-7f9c8d-00007",
        "GET /api/v1/namespaces/default/pods/api-7f9c8d-00108"]


def test_a_pod_replaced_under_the_same_name_is_not_trusted(node_of_110: Any,
                                                           kubeconfig: str) -> None:
    cluster = node_of_110
    resolve(kubeconfig, cid(3)[:12])
    # The same name, a new uid (a StatefulSet's pod recreated): the same container id is not
    # proof of anything any more.
    cluster.add_pod(realistic_pod("default", "api-7f9c8d-00003", NODE, [cid(3)], uid="uid-new"))
    cluster.clear_requests()
    found, calls = resolve(kubeconfig, cid(3)[:12])
    assert calls == 2 and paths(cluster) == [
        "GET /api/v1/namespaces/default/pods/api-7f9c8d-00003", "GET /api/v1/pods"]
    assert found.pod["metadata"]["uid"] == "uid-new"  # found again by the LIST, not the memory


def test_a_restarted_container_is_looked_up_again(node_of_110: Any, kubeconfig: str) -> None:
    cluster = node_of_110
    resolve(kubeconfig, cid(5)[:12])
    pod = realistic_pod("default", "api-7f9c8d-00005", NODE, [cid(5, "restarted")])
    cluster.add_pod(pod)  # same uid, a new container id in its status
    cluster.clear_requests()
    old, calls = resolve(kubeconfig, cid(5)[:12])
    assert isinstance(old, NoTarget) and calls == 2  # GET says no longer, the LIST says none
    cluster.clear_requests()
    new, calls = resolve(kubeconfig, cid(5, "restarted")[:12])
    assert new.name == "api-7f9c8d-00005" and calls == 1


def test_a_container_never_seen_lists_the_node(node_of_110: Any, kubeconfig: str) -> None:
    cluster = node_of_110
    resolve(kubeconfig, cid(1)[:12])
    cluster.add_pod(realistic_pod("default", "late-7f9c8d-00001", NODE, [cid(1, "late")]))
    cluster.clear_requests()
    found, calls = resolve(kubeconfig, cid(1, "late")[:12])
    assert found.name == "late-7f9c8d-00001" and calls == 1
    assert paths(cluster) == ["GET /api/v1/pods"]


def test_the_memory_is_per_node(node_of_110: Any, kubeconfig: str) -> None:
    resolve(kubeconfig, cid(1)[:12])
    # node-b's pods were never listed; node-a's container named with node-b is not found there
    found, calls = resolve(kubeconfig, cid(1)[:12], node="node-b")
    assert isinstance(found, NoTarget) and calls == 1
    found, calls = resolve(kubeconfig, cid(2, "b")[:12], node="node-b")
    assert found.name == "web-7f9c8d-00002" and calls == 1


def test_a_short_id_two_pods_share_is_left_to_the_list() -> None:
    pods = [realistic_pod("default", "a-1", NODE, ["abcdef012345" + "0" * 52]),
            realistic_pod("default", "b-1", NODE, ["abcdef012345" + "1" * 52])]
    memory = PodsByContainer()
    memory.remember("https://k8s", NODE, pods)
    assert memory.lookup("https://k8s", NODE, "abcdef012345") is None
    assert memory.lookup("https://k8s", NODE, "abcdef012345" + "1" * 52) == (
        "default", "b-1", "uid-default-b-1")
    assert memory.lookup("https://other", NODE, "abcdef012345" + "1" * 52) is None


def test_the_memory_keeps_a_bounded_number_of_nodes() -> None:
    memory = PodsByContainer(max_nodes=3)
    for n in range(5):
        memory.remember("s", f"n{n}", [realistic_pod("default", f"p-{n}", f"n{n}", [cid(n)])])
    assert memory.lookup("s", "n0", cid(0)) is None and memory.lookup("s", "n1", cid(1)) is None
    assert memory.lookup("s", "n4", cid(4)[:12]) == ("default", "p-4", "uid-default-p-4")
