"""Connecting to the cluster: in-cluster, kubeconfig/``KUBECONFIG``, or EKS (token via botocore).

A :class:`Connection` is made at config load (cheap: no import of ``kubernetes``); the
``kubernetes`` client is imported and configured on the first alert, then reused.
"""

from __future__ import annotations

import base64
import os
import tempfile
import threading
from typing import Any

from .eks import EksTokenSource, default_credentials, describe_cluster
from .params import ClusterParams, ConnectionParams, region_of


def _write_ca(ca_data: str) -> str:
    """The client wants a CA file path; Lambda lets us write to /tmp."""
    pem = base64.b64decode(ca_data)
    handle = tempfile.NamedTemporaryFile(prefix="falco-response-ca-", suffix=".pem", delete=False)
    with handle:
        handle.write(pem)
    return handle.name


def build_configuration(cluster: ClusterParams, timeout: float,
                        credentials: Any = None, eks_client: Any = None) -> Any:
    """A ``kubernetes.client.Configuration`` for ``cluster`` (imports kubernetes)."""
    from kubernetes import client, config

    configuration = client.Configuration()
    if cluster.eks is not None:
        eks = cluster.eks
        region = region_of(eks)
        assert region is not None  # checked at config load
        endpoint, ca_data = eks.endpoint, eks.ca_data
        if endpoint is None or ca_data is None:
            endpoint, ca_data = describe_cluster(eks.cluster_name, region, timeout, eks_client)
        configuration.host = endpoint
        configuration.ssl_ca_cert = _write_ca(ca_data)
        source = EksTokenSource(eks.cluster_name, region,
                                credentials if credentials is not None else default_credentials())

        def refresh(conf: Any) -> None:
            conf.api_key["authorization"] = source.token()

        configuration.api_key_prefix["authorization"] = "Bearer"
        configuration.refresh_api_key_hook = refresh
        configuration.token_source = source  # for tests and diagnostics
    elif cluster.in_cluster or (cluster.in_cluster is None and cluster.kubeconfig is None
                                and os.environ.get("KUBERNETES_SERVICE_HOST")):
        config.load_incluster_config(client_configuration=configuration)
    else:
        # KUBECONFIG is read now, not when kubernetes was imported (it may be a ':' list).
        config_file = cluster.kubeconfig or os.environ.get("KUBECONFIG") or None
        config.load_kube_config(config_file=config_file, context=cluster.context,
                                client_configuration=configuration, persist_config=False)
    # Our own retry policy (tenacity, bounded by the action's deadline) replaces urllib3's.
    configuration.retries = False
    return configuration


class Connection:
    """One configured action's lazily built API client (thread-safe)."""

    def __init__(self, params: ConnectionParams) -> None:
        self.params = params
        self._lock = threading.Lock()
        self._api_client: Any = None

    def api_client(self) -> Any:
        with self._lock:
            if self._api_client is None:
                from kubernetes import client

                configuration = build_configuration(self.params.cluster,
                                                    self.params.timeout_seconds)
                self._api_client = client.ApiClient(configuration)
            return self._api_client
