"""What the Kubernetes containment plugins share: connecting (in-cluster, kubeconfig, EKS),
API calls with retries and timeouts, target resolution and the safety checks, Events.

Importing this package does not import ``kubernetes`` (nor botocore): that happens on the
first alert an action handles.
"""

from __future__ import annotations

from .api import Kube, KubeError
from .connection import Connection
from .events import record as record_event
from .params import ClusterParams, ConnectionParams, EksParams, check_connection
from .runner import run_action
from .targets import (IGNORE_ANNOTATION, NoTarget, ResolvedPod, Skip, check_node, check_pod,
                      meta, resolve_node, resolve_pod)

__all__ = [
    "IGNORE_ANNOTATION", "ClusterParams", "Connection", "ConnectionParams", "EksParams", "Kube",
    "KubeError", "NoTarget", "ResolvedPod", "Skip", "check_connection", "check_node",
    "check_pod", "meta", "record_event", "resolve_node", "resolve_pod", "run_action",
]
