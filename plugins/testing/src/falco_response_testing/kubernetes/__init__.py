"""The kit's Kubernetes part (``pip install 'falco-response-testing[kubernetes]'``): kmock
0.8's ``KubernetesEmulator`` on 127.0.0.1 in a thread, driven by the official client, with
what kmock does not emulate declared as reactions (field and label selectors, evictions, the
scale subresource, container logs); fixtures, builders and checks around it::

    # conftest.py
    from falco_response_testing.kubernetes import cluster, engine_for, kubeconfig  # noqa: F401

    # test_my_action.py
    from falco_response_testing.kubernetes import (PODS, cid, outcome_of, pod_alert,
                                                   realistic_pod)

    def test_deletes_the_pod(cluster, engine_for):
        cluster.add_pod(realistic_pod("default", "web-1", "node-a", [cid(1)]))
        outcome = outcome_of(engine_for("my-action"), pod_alert("default", "web-1"))
        assert outcome.status.value == "ok"
        assert cluster.obj(PODS, "default", "web-1") is None
"""

from __future__ import annotations

from .builders import (alert_with_fields, cid, container_alert, deployment, owned_by, pod_alert,
                       realistic_pod)
from .checks import cluster_role_permissions, outcome_of, permission_of, validate
from .cluster import (DAEMONSETS, DEPLOYMENTS, EVENTS, NAMESPACES, NETPOLS, NODES, PODS,
                      REPLICASETS, STATEFULSETS, KmockCluster, method, paths, status_body)
from .fixtures import cluster, engine_for, kubeconfig
from .reactions import set_log

__all__ = [
    "DAEMONSETS", "DEPLOYMENTS", "EVENTS", "NAMESPACES", "NETPOLS", "NODES", "PODS",
    "REPLICASETS", "STATEFULSETS", "KmockCluster", "alert_with_fields", "cid", "cluster",
    "cluster_role_permissions", "container_alert", "deployment", "engine_for", "kubeconfig",
    "method", "outcome_of", "owned_by", "paths", "permission_of", "pod_alert", "realistic_pod",
    "set_log", "status_body", "validate",
]
