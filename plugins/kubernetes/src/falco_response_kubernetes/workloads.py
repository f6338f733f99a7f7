"""A pod's owners (ReplicaSet -> Deployment, StatefulSet, DaemonSet, Job ...), their replica
counts, and the scale subresource: what the workload guards, ``scale-to-zero`` and evidence
need. Each owner is one GET by the name in ``ownerReferences``, never a list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .api import MERGE_PATCH, Kube
from .names import is_dns_subdomain

# kind -> (group/version, plural)
KINDS: dict[str, tuple[str, str]] = {
    "ReplicaSet": ("apps/v1", "replicasets"),
    "Deployment": ("apps/v1", "deployments"),
    "StatefulSet": ("apps/v1", "statefulsets"),
    "DaemonSet": ("apps/v1", "daemonsets"),
    "Job": ("batch/v1", "jobs"),
    "CronJob": ("batch/v1", "cronjobs"),
}
SCALABLE = ("Deployment", "StatefulSet")
MAX_CHAIN = 4


@dataclass(frozen=True, slots=True)
class Owner:
    kind: str
    name: str
    namespace: str
    obj: dict[str, Any] | None      # None: the owner is not readable (gone, or a foreign kind)

    @property
    def ref(self) -> str:
        return f"{self.kind.lower()}:{self.namespace}/{self.name}"


def controller_ref(obj: dict[str, Any]) -> dict[str, Any] | None:
    refs = [r for r in (obj.get("metadata") or {}).get("ownerReferences") or []
            if isinstance(r, dict)]
    return next((r for r in refs if r.get("controller")), refs[0] if refs else None)


def path_of(kind: str, namespace: str, name: str) -> str:
    group, plural = KINDS[kind]
    return f"/apis/{group}/namespaces/{namespace}/{plural}/{name}"


_SNAKE = {"ReplicaSet": "replica_set", "Deployment": "deployment",
          "StatefulSet": "stateful_set", "DaemonSet": "daemon_set", "Job": "job",
          "CronJob": "cron_job"}


def _api(kube: Kube, kind: str) -> Any:
    from kubernetes.client import AppsV1Api, BatchV1Api

    return (BatchV1Api if KINDS[kind][0] == "batch/v1" else AppsV1Api)(kube.api_client)


def _method(kube: Kube, kind: str, verb: str, suffix: str = "") -> Any:
    return getattr(_api(kube, kind), f"{verb}_namespaced_{_SNAKE[kind]}{suffix}")


def get_owned(kube: Kube, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    """GET one workload object by kind (only the kinds in :data:`KINDS`)."""
    return kube.maybe(f"GET {kind.lower()} {namespace}/{name}", _method(kube, kind, "read"),
                      name, namespace)


REPLICATED = ("ReplicaSet", "Deployment", "StatefulSet")


def owner_chain(kube: Kube, pod: dict[str, Any],
                kinds: tuple[str, ...] = REPLICATED) -> list[Owner]:
    """The pod's controllers, nearest first (ReplicaSet, then its Deployment). Only owners
    of ``kinds`` are read (what the caller's RBAC allows); others are named, not read."""
    chain: list[Owner] = []
    namespace = str((pod.get("metadata") or {}).get("namespace") or "")
    current: dict[str, Any] | None = pod
    for _ in range(MAX_CHAIN):
        ref = controller_ref(current) if current is not None else None
        if ref is None:
            break
        kind, name = str(ref.get("kind") or ""), str(ref.get("name") or "")
        if kind not in KINDS or kind not in kinds or not is_dns_subdomain(name):
            chain.append(Owner(kind or "?", name or "?", namespace, None))
            break
        current = get_owned(kube, kind, namespace, name)
        chain.append(Owner(kind, name, namespace, current))
        if current is None:
            break
    return chain


def workload_of(chain: list[Owner]) -> Owner | None:
    """The object whose replica count says how many copies should run (the top controller:
    a Deployment over its ReplicaSet), or None for a pod nothing scales."""
    for owner in reversed(chain):
        if owner.kind in ("Deployment", "StatefulSet", "ReplicaSet") and owner.obj is not None:
            return owner
    return None


def replicas(obj: dict[str, Any]) -> tuple[int, int]:
    """(desired, ready) from a Deployment / ReplicaSet / StatefulSet."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    desired = spec.get("replicas")
    return (int(desired) if desired is not None else 1, int(status.get("readyReplicas") or 0))


def pod_ready(pod: dict[str, Any]) -> bool:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False


def minimum(spec: int | str, desired: int) -> int:
    """``min_healthy_replicas`` for ``desired`` replicas: a number, or ``"50%"`` rounded up."""
    if isinstance(spec, str):
        return math.ceil(float(spec.rstrip("%")) * desired / 100.0)
    return spec


def check_minimum_spec(spec: int | str | None) -> None:
    if spec is None:
        return
    if isinstance(spec, str):
        number = spec[:-1] if spec.endswith("%") else ""
        try:
            value = float(number)
        except ValueError:
            raise ValueError(f"min_healthy_replicas {spec!r}: give a number or a percentage "
                             "like \"50%\"") from None
        if not 0 <= value <= 100:
            raise ValueError("min_healthy_replicas: a percentage is 0% to 100%")
    elif spec < 0:
        raise ValueError("min_healthy_replicas must be 0 or more")


def scale_path(kind: str, namespace: str, name: str) -> str:
    return path_of(kind, namespace, name) + "/scale"


def get_scale(kube: Kube, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    return kube.maybe(f"GET {kind.lower()} {namespace}/{name} scale",
                      _method(kube, kind, "read", "_scale"), name, namespace)


def patch_scale(kube: Kube, kind: str, namespace: str, name: str,
                count: int) -> dict[str, Any]:
    return kube.call(f"PATCH {kind.lower()} {namespace}/{name} scale",
                     _method(kube, kind, "patch", "_scale"), name, namespace,
                     {"spec": {"replicas": count}}, _content_type=MERGE_PATCH)


def patch_owned(kube: Kube, kind: str, namespace: str, name: str,
                body: dict[str, Any]) -> dict[str, Any]:
    return kube.call(f"PATCH {kind.lower()} {namespace}/{name}", _method(kube, kind, "patch"),
                     name, namespace, body, _content_type=MERGE_PATCH)
