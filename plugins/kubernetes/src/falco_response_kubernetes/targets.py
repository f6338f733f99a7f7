"""Finding what an alert names (a pod, a node) and deciding whether it may be touched.

Targets come only from the alert's own fields: ``k8s.ns.name``/``k8s.pod.name``,
``ka.target.*`` for k8s_audit alerts about pods, or ``container.id`` looked up among the pods
of the alert's own node (``hostname``), never the cluster's. Names are checked as DNS-1123
before they reach a URL. A pod in a protected namespace, or annotated (pod or namespace)
``falco-response.io/ignore: "true"``, is never acted on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from falco_response import Alert, Settings

from .api import Kube
from .names import is_container_id, is_dns_label, is_dns_subdomain, shown, strip_runtime
from .pod_cache import PODS_BY_CONTAINER, still_runs

IGNORE_ANNOTATION = "falco-response.io/ignore"


class Skip(Exception):
    """Resolution or a safety check says: do nothing, and here is why."""

    def __init__(self, reason: str, target: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.target = target


class NoTarget(Skip):
    """The alert names no pod (or names one that cannot be found)."""


@dataclass(frozen=True, slots=True)
class ResolvedPod:
    namespace: str
    name: str
    how: str                          # which alert fields named it
    pod: dict[str, Any] | None        # None: named, but already gone

    @property
    def target(self) -> str:
        return f"pod:{self.namespace}/{self.name}"


def meta(obj: dict[str, Any]) -> dict[str, Any]:
    value = obj.get("metadata")
    return value if isinstance(value, dict) else {}


def _ignored(obj: dict[str, Any]) -> bool:
    annotations = meta(obj).get("annotations") or {}
    return str(annotations.get(IGNORE_ANNOTATION, "")).strip().lower() == "true"


def named_pod(alert: Alert) -> tuple[str, str, str] | None:
    """(namespace, name, fields used) when the alert names a pod; Skip when the names are bad."""
    namespace, name = alert.pod_namespace, alert.pod_name
    # A name that is present is checked even when its partner is missing: a bad one is a Skip,
    # never a reason to look for the target some other way.
    if namespace is not None and not is_dns_label(namespace):
        field = "k8s.ns.name" if alert.text("k8s.ns.name") else "ka.target.namespace"
        raise Skip(f"namespace {shown(namespace)} from {field} is not a valid Kubernetes name")
    if name is not None and not is_dns_subdomain(name):
        field = "k8s.pod.name" if alert.text("k8s.pod.name") else "ka.target.name"
        raise Skip(f"pod name {shown(name)} from {field} is not a valid Kubernetes name")
    if namespace is None or name is None:
        return None
    how = "k8s.ns.name/k8s.pod.name" if alert.text("k8s.pod.name") else "ka.target.*"
    return namespace, name, how


def alert_node(alert: Alert) -> str | None:
    node = alert.node_name
    if node is None:
        return None
    if not is_dns_subdomain(node):
        raise Skip(f"hostname {shown(node)} is not a valid Kubernetes node name")
    return node


def _container_matches(pod: dict[str, Any], container_id: str) -> bool:
    status = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for entry in status.get(key) or ():
            cid = strip_runtime(str((entry or {}).get("containerID") or "")).lower()
            if cid and cid.startswith(container_id):
                return True
    return False


def pod_by_container(kube: Kube, alert: Alert) -> ResolvedPod:
    """The pod running ``container.id`` on the alert's own node (one LIST of that node)."""
    raw_id = alert.container_id
    node = alert_node(alert)
    if raw_id is None or node is None:
        missing = " and ".join(n for n, v in (("container.id", raw_id), ("hostname", node))
                               if v is None)
        raise NoTarget("no target: the alert has no k8s.ns.name/k8s.pod.name (nor ka.target.* "
                       f"for a pod) and no {missing} to find the pod by container")
    container_id = strip_runtime(raw_id).lower()
    if container_id == "host":
        raise NoTarget(f"container.id {shown(raw_id)} is not a container id "
                       "(the process ran on the host)")
    if not is_container_id(container_id):
        raise Skip(f"container.id {shown(raw_id)} is not a container id")
    remembered = _remembered_pod(kube, node, container_id)
    if remembered is not None:
        return remembered
    pods = kube.pods_on_node(node)
    PODS_BY_CONTAINER.remember(kube.server, node, pods)
    found = [p for p in pods
             if (p.get("spec") or {}).get("nodeName") == node and _container_matches(p, container_id)]
    if not found:
        raise NoTarget(f"no pod on node {node} runs container {container_id}",
                       target=f"node:{node}")
    if len(found) > 1:
        names = ", ".join(f"{meta(p).get('namespace')}/{meta(p).get('name')}" for p in found[:3])
        raise Skip(f"container id {container_id} matches several pods on node {node}: {names}",
                   target=f"node:{node}")
    pod = found[0]
    return ResolvedPod(str(meta(pod).get("namespace")), str(meta(pod).get("name")),
                       "container.id on hostname", pod)


def _remembered_pod(kube: Kube, node: str, container_id: str) -> ResolvedPod | None:
    """The pod the last LIST of ``node`` showed running the container, fetched by name and
    trusted only if it is still that pod (uid), on that node, running that container."""
    known = PODS_BY_CONTAINER.lookup(kube.server, node, container_id)
    if known is None:
        return None
    namespace, name, uid = known
    pod = kube.get_pod(namespace, name)
    if not still_runs(pod, uid, node, container_id):
        PODS_BY_CONTAINER.forget(kube.server, node)
        return None
    return ResolvedPod(namespace, name, "container.id on hostname", pod)


def resolve_pod(kube: Kube, alert: Alert, settings: Settings) -> ResolvedPod:
    """The pod the alert names. A protected namespace is refused before any read in it."""
    named = named_pod(alert)
    if named is not None:
        namespace, name, how = named
        check_namespace(namespace, settings)
        return ResolvedPod(namespace, name, how, kube.get_pod(namespace, name))
    return pod_by_container(kube, alert)


def check_namespace(namespace: str, settings: Settings) -> None:
    if namespace in settings.protected_namespaces:
        raise Skip(f"namespace {namespace} is protected", target=f"namespace:{namespace}")


def check_pod(kube: Kube, resolved: ResolvedPod, settings: Settings) -> None:
    """Protected namespace, and the ignore annotation on the pod or on its namespace."""
    check_namespace(resolved.namespace, settings)
    if resolved.pod is not None and _ignored(resolved.pod):
        raise Skip(f"pod {resolved.namespace}/{resolved.name} is annotated "
                   f"{IGNORE_ANNOTATION}=true", target=resolved.target)
    namespace = kube.get_namespace(resolved.namespace)
    if namespace is not None and _ignored(namespace):
        raise Skip(f"namespace {resolved.namespace} is annotated {IGNORE_ANNOTATION}=true",
                   target=resolved.target)


def check_node(node: dict[str, Any], name: str) -> None:
    if _ignored(node):
        raise Skip(f"node {name} is annotated {IGNORE_ANNOTATION}=true", target=f"node:{name}")


def resolve_node(kube: Kube, alert: Alert, settings: Settings) -> tuple[str, ResolvedPod | None]:
    """The node to act on: the named pod's ``spec.nodeName``, else the alert's hostname.

    A pod that is named and found must pass :func:`check_pod` (its node is not acted on for an
    alert about a protected or ignored pod).
    """
    try:
        resolved: ResolvedPod | None = resolve_pod(kube, alert, settings)
    except NoTarget:
        resolved = None
    if resolved is not None and resolved.pod is not None:
        check_pod(kube, resolved, settings)
        node = (resolved.pod.get("spec") or {}).get("nodeName")
        if node:
            return str(node), resolved
    node = alert_node(alert)
    if node is None:
        raise Skip("no target: the alert names no pod with a node and has no hostname")
    return node, resolved
