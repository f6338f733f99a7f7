"""Resolution by remembered container id, where mutation testing found it untested
(``tox -e mutation -- targets``): the pod a warm lookup returns is named in full, and a
memory proved stale is dropped even when the LIST that follows fails."""

from __future__ import annotations

import time
from typing import Any

import pytest

from falco_response import Settings, alert_from_dict
from falco_response_kubernetes.api import Kube
from falco_response_kubernetes.connection import Connection
from falco_response_kubernetes.params import ClusterParams, ConnectionParams
from falco_response_kubernetes.pod_cache import PODS_BY_CONTAINER
from falco_response_kubernetes.targets import resolve_pod
from falco_response_testing.kubernetes import cid, container_alert, realistic_pod

NODE = "node-a"
SETTINGS = Settings(dry_run=False, protected_namespaces=frozenset({"kube-system"}))


@pytest.fixture
def node(cluster: Any) -> Any:
    PODS_BY_CONTAINER.clear()
    cluster.add_node(NODE)
    cluster.add_namespace("shop")
    for i in range(3):
        cluster.add_pod(realistic_pod("shop", f"api-{i}", NODE, [cid(i)]))
    yield cluster
    PODS_BY_CONTAINER.clear()


def resolve(kubeconfig: str, container_id: str) -> Any:
    kube = Kube(Connection(ConnectionParams(cluster=ClusterParams(kubeconfig=kubeconfig)))
                .api_client(), 2.0, time.monotonic() + 5)
    return resolve_pod(kube, alert_from_dict(container_alert(container_id, hostname=NODE)),
                       SETTINGS)


def paths(cluster: Any) -> list[str]:
    return [f"{getattr(r.method, 'value', r.method)} {r.url.path}" for r in cluster.requests()]


def test_a_warm_lookup_names_the_pod_with_its_namespace(node: Any, kubeconfig: str) -> None:
    resolve(kubeconfig, cid(1)[:12])
    node.clear_requests()
    found = resolve(kubeconfig, cid(1)[:12])
    assert paths(node) == ["GET /api/v1/namespaces/shop/pods/api-1"]  # from the memory
    assert (found.namespace, found.name, found.target) == ("shop", "api-1", "pod:shop/api-1")


def test_a_stale_memory_is_dropped_even_if_the_list_after_it_fails(node: Any,
                                                                  kubeconfig: str) -> None:
    resolve(kubeconfig, cid(1)[:12])  # remembers the node's three pods
    node.add_pod(realistic_pod("shop", "api-1", NODE, [cid(1, "restarted")]))
    failed = node.fail("GET", "/api/v1/pods", [403])
    with pytest.raises(Exception):
        resolve(kubeconfig, cid(1)[:12])  # GET: no longer that container; the LIST fails
    assert len(failed) == 1
    node.clear_requests()
    # What the memory held for this node is not trusted any more, for any container on it.
    found = resolve(kubeconfig, cid(2)[:12])
    assert paths(node) == ["GET /api/v1/pods"]
    assert found.target == "pod:shop/api-2"
