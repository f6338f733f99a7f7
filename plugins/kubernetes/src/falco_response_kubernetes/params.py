"""Connection parameters every Kubernetes action type shares (one base struct).

Each plugin's ``Params`` inherits :class:`ConnectionParams`, so ``cluster``,
``timeout_seconds`` and ``record_event`` are spelled and validated the same way for
``delete-pod``, ``isolate-pod``, ``taint-node`` and ``cordon-node``.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Union

import msgspec


class EksParams(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Connect to an EKS cluster with a token made in-process (no binary, no kubeconfig).

    ``endpoint`` and ``ca_data`` (base64 PEM, as ``eks:DescribeCluster`` returns it) skip the
    DescribeCluster call when both are given.
    """

    cluster_name: str
    region: Union[str, None] = None
    endpoint: Union[str, None] = None
    ca_data: Union[str, None] = None


class ClusterParams(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Where the cluster is. Nothing set: in-cluster when ``KUBERNETES_SERVICE_HOST`` is set,
    else the kubeconfig that ``KUBECONFIG`` (or ``~/.kube/config``) names."""

    kubeconfig: Union[str, None] = None
    context: Union[str, None] = None
    in_cluster: Union[bool, None] = None
    eks: Union[EksParams, None] = None


class ConnectionParams(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """The base of every Kubernetes action type's ``with`` parameters."""

    cluster: ClusterParams = msgspec.field(default_factory=ClusterParams)
    timeout_seconds: float = 10.0
    record_event: bool = False


def region_of(eks: EksParams) -> str | None:
    return eks.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


def check_connection(params: ConnectionParams) -> None:
    """Reject contradictory settings at config load (raises ``ValueError``)."""
    cluster = params.cluster
    if not params.timeout_seconds > 0:
        raise ValueError("timeout_seconds must be positive")
    chosen = [name for name, on in (("kubeconfig", cluster.kubeconfig is not None),
                                    ("in_cluster", bool(cluster.in_cluster)),
                                    ("eks", cluster.eks is not None)) if on]
    if len(chosen) > 1:
        raise ValueError(f"cluster: choose one of kubeconfig, in_cluster, eks (got {', '.join(chosen)})")
    if cluster.context is not None and (cluster.in_cluster or cluster.eks is not None):
        raise ValueError("cluster.context applies to a kubeconfig only")
    eks = cluster.eks
    if eks is None:
        return
    if not eks.cluster_name.strip():
        raise ValueError("cluster.eks.cluster_name must not be empty")
    if region_of(eks) is None:
        raise ValueError("cluster.eks: no AWS region: set cluster.eks.region in the config, or "
                         "the AWS_REGION environment variable (export AWS_REGION=us-east-1)")
    if (eks.endpoint is None) != (eks.ca_data is None):
        raise ValueError("cluster.eks: give both endpoint and ca_data, or neither "
                         "(then eks:DescribeCluster provides them)")
    if eks.endpoint is not None and not eks.endpoint.startswith("https://"):
        raise ValueError("cluster.eks.endpoint must be an https:// URL")
    if eks.ca_data is not None:
        try:
            pem = base64.b64decode(eks.ca_data, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("cluster.eks.ca_data must be base64 (as DescribeCluster returns it)") from None
        if b"BEGIN CERTIFICATE" not in pem:
            raise ValueError("cluster.eks.ca_data does not hold a PEM certificate")
