"""falco-response plugin: ``delete-pod`` and ``isolate-pod``.

Registering imports neither ``kubernetes`` nor botocore: the client is built on the first alert.
"""

from __future__ import annotations

from falco_response import RegisterAction, hookimpl

from .delete import DeletePodParams, make_delete_pod
from .isolate import IsolatePodParams, make_isolate_pod

DELETE_PERMISSIONS = [
    "pods: get, delete (cluster-wide: list, for container.id lookups on one node)",
    "pods/eviction: create (mode: evict)",
    "namespaces: get (the ignore annotation)",
    "events: create (record_event)",
]
ISOLATE_PERMISSIONS = [
    "pods: get, patch (cluster-wide: list, for container.id lookups on one node)",
    "networkpolicies (networking.k8s.io): get, create, patch",
    "namespaces: get (the ignore annotation)",
    "events: create (record_event)",
]


@hookimpl
def register_actions(register: RegisterAction) -> None:
    register("delete-pod", make_delete_pod, params=DeletePodParams, destructive=True,
             summary="Deletes or evicts the pod an alert names (its controller replaces it).",
             permissions=DELETE_PERMISSIONS)
    register("isolate-pod", make_isolate_pod, params=IsolatePodParams, destructive=True,
             summary="Labels the pod quarantined and ensures a deny-all NetworkPolicy selects it.",
             permissions=ISOLATE_PERMISSIONS)


__all__ = ["DeletePodParams", "IsolatePodParams", "make_delete_pod", "make_isolate_pod",
           "register_actions"]
