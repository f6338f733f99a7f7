"""falco-response plugin: ``taint-node`` and ``cordon-node``.

Registering imports neither ``kubernetes`` nor botocore: the client is built on the first alert.
"""

from __future__ import annotations

from falco_response import RegisterAction, hookimpl

from .cordon import CordonNodeParams, make_cordon_node
from .taint import TaintNodeParams, make_taint_node
from .uncordon import make_unnode

NODE_PERMISSIONS = [
    "nodes: get, patch",
    "pods: get (cluster-wide: list, for container.id lookups on one node)",
    "namespaces: get (the ignore annotation)",
    "events: create (record_event)",
]


@hookimpl
def register_actions(register: RegisterAction) -> None:
    register("taint-node", make_taint_node, params=TaintNodeParams, destructive=True,
             summary="Taints the alert's node (keeps other taints; optional cordon).",
             permissions=NODE_PERMISSIONS, scope="node", undo=make_unnode)
    register("cordon-node", make_cordon_node, params=CordonNodeParams, destructive=True,
             summary="Marks the alert's node unschedulable.", permissions=NODE_PERMISSIONS,
             scope="node", undo=make_unnode)


__all__ = ["CordonNodeParams", "TaintNodeParams", "make_cordon_node", "make_taint_node",
           "register_actions"]
