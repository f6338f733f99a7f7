"""Guards shared by destructive pod actions: ``require_evidence`` and the workload guards
(``ignore_daemonsets``, ``ignore_statefulsets``, ``min_healthy_replicas``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, Union

from falco_response import Outcome, Status

from .api import Kube
from .targets import ResolvedPod, Skip
from .workloads import controller_ref, minimum, owner_chain, pod_ready, replicas, workload_of

EVIDENCE_TYPE = "collect-evidence"


class WorkloadGuards(Protocol):
    """The fields a pod action's parameters carry for :func:`check_workload` (``delete-pod``
    has them): which owners to leave alone, how many ready replicas must remain."""

    ignore_daemonsets: bool
    ignore_statefulsets: bool
    min_healthy_replicas: Union[int, str, None]


def evidence_for(previous: Sequence[Outcome], target: str) -> Outcome | None:
    """The latest ``collect-evidence`` outcome for ``target`` earlier in this response."""
    found = [o for o in previous if o.type == EVIDENCE_TYPE and o.target == target]
    return found[-1] if found else None


def require_evidence(previous: Sequence[Outcome], target: str) -> None:
    """:class:`Skip` unless a ``collect-evidence`` in this response succeeded for ``target``."""
    found = evidence_for(previous, target)
    if found is None:
        raise Skip("evidence collection failed: no collect-evidence action ran for "
                   f"{target} earlier in this response (require_evidence: true)", target=target)
    if found.status is not Status.OK:
        raise Skip(f"evidence collection failed: {found.status.value}: {found.reason or '?'}",
                   target=target)


def check_workload(kube: Kube, resolved: ResolvedPod, guards: WorkloadGuards,
                   verb: str = "deleting") -> dict[str, Any]:
    """Apply the workload guards before a pod is deleted or evicted; :class:`Skip` with the
    numbers when they refuse. Returns what was read (for the outcome's detail)."""
    pod = resolved.pod or {}
    ref = controller_ref(pod) or {}
    kind = str(ref.get("kind") or "")
    detail: dict[str, Any] = {}
    if guards.ignore_daemonsets and kind == "DaemonSet":
        raise Skip(f"pod {resolved.namespace}/{resolved.name} belongs to a DaemonSet "
                   f"(ignore_daemonsets: true): {verb} it only starts it again on the same "
                   "node", target=resolved.target)
    if guards.ignore_statefulsets and kind == "StatefulSet":
        raise Skip(f"pod {resolved.namespace}/{resolved.name} belongs to a StatefulSet "
                   "(ignore_statefulsets: true)", target=resolved.target)
    if guards.min_healthy_replicas is None:
        return detail
    chain = owner_chain(kube, pod)  # only now: one GET per owner
    detail["owners"] = [o.ref for o in chain]
    workload = workload_of(chain)
    if workload is None or workload.obj is None:
        raise Skip(f"min_healthy_replicas is set but pod {resolved.namespace}/{resolved.name} "
                   "has no readable Deployment, ReplicaSet or StatefulSet to count replicas of",
                   target=resolved.target)
    desired, ready = replicas(workload.obj)
    left = ready - 1 if pod_ready(pod) else ready
    needed = minimum(guards.min_healthy_replicas, desired)
    spec = guards.min_healthy_replicas
    shown = f"{spec} ({needed} of {desired})" if isinstance(spec, str) else str(spec)
    detail.update(workload=workload.ref, desired=desired, ready=ready, would_leave=left,
                  min_healthy_replicas=needed)
    if left < needed:
        raise Skip(f"would leave {max(left, 0)} of {desired} replicas ready; "
                   f"min_healthy_replicas is {shown} ({workload.ref})", target=resolved.target)
    return detail
