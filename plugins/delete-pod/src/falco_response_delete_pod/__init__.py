"""falco-response plugin: ``delete-pod``, ``isolate-pod``, ``label-pod`` and
``scale-to-zero`` (pod and workload containment), with undo for the reversible ones.

Registering imports neither ``kubernetes`` nor botocore: the client is built on the first alert.
"""

from __future__ import annotations

from typing import Any

from falco_response import Outcome, RegisterAction, hookimpl

from .delete import DeletePodParams, make_delete_pod
from .isolate import IsolatePodParams, make_isolate_pod
from .label import LabelPodParams, make_label_pod, make_unlabel_pod
from .scale import ScaleToZeroParams, make_scale_to_zero, make_unscale
from .unisolate import make_unisolate_pod

DELETE_PERMISSIONS = [
    "pods: get, delete (cluster-wide: list, for container.id lookups on one node)",
    "pods/eviction: create (mode: evict)",
    "namespaces: get (the ignore annotation)",
    "replicasets, deployments, statefulsets (apps): get (min_healthy_replicas)",
    "events: create (record_event)",
]
ISOLATE_PERMISSIONS = [
    "pods: get, patch (cluster-wide: list, for container.id lookups on one node; undo: list "
    "by label in the pod's namespace)",
    "networkpolicies (networking.k8s.io): get, create, patch; delete (undo)",
    "namespaces: get (the ignore annotation)",
    "events: create (record_event)",
]
LABEL_PERMISSIONS = [
    "pods: get, patch (cluster-wide: list, for container.id lookups on one node)",
    "namespaces: get (the ignore annotation)",
    "events: create (record_event)",
]
SCALE_PERMISSIONS = [
    "pods: get (cluster-wide: list, for container.id lookups on one node)",
    "namespaces: get (the ignore annotation)",
    "replicasets (apps): get; deployments, statefulsets (apps): get, patch (the annotation)",
    "deployments/scale, statefulsets/scale (apps): get, patch",
]


def make_no_undo(params: DeletePodParams) -> Any:
    def run(ctx: Any) -> Outcome:
        data = ctx.data
        return ctx.skipped(f"a deleted or evicted pod cannot be undone: pod "  # type: ignore[no-any-return]
                           f"{data.get('namespace')}/{data.get('name')} was "
                           f"{data.get('irreversible', 'deleted')} (its controller started a "
                           "new one); nothing changed")
    return run


@hookimpl
def register_actions(register: RegisterAction) -> None:
    register("delete-pod", make_delete_pod, params=DeletePodParams, destructive=True,
             summary="Deletes or evicts the pod an alert names (its controller replaces it).",
             permissions=DELETE_PERMISSIONS, undo=make_no_undo)
    register("isolate-pod", make_isolate_pod, params=IsolatePodParams, destructive=True,
             summary="Labels the pod quarantined and ensures a deny-all NetworkPolicy selects it.",
             permissions=ISOLATE_PERMISSIONS, undo=make_unisolate_pod)
    register("label-pod", make_label_pod, params=LabelPodParams, destructive=True,
             summary="Adds the labels the config names to the pod an alert names.",
             permissions=LABEL_PERMISSIONS, undo=make_unlabel_pod)
    register("scale-to-zero", make_scale_to_zero, params=ScaleToZeroParams, destructive=True,
             summary="Scales the pod's Deployment or StatefulSet to 0 (replicas kept for undo).",
             permissions=SCALE_PERMISSIONS, undo=make_unscale)


__all__ = ["DeletePodParams", "IsolatePodParams", "LabelPodParams", "ScaleToZeroParams",
           "make_delete_pod", "make_isolate_pod", "make_label_pod", "make_scale_to_zero",
           "register_actions"]
