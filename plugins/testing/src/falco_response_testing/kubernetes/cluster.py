"""A kmock Kubernetes emulator on 127.0.0.1 in a thread, for the synchronous official client.

kmock 0.8's ``KubernetesEmulator`` stores objects and records requests but ignores field
selectors and evictions, so this cluster declares those as reactions: LIST pods with
``fieldSelector=spec.nodeName=X`` answers from a per-node index (as the API server's indexed
cache does), and an Eviction deletes the pod; :mod:`.reactions` declares the rest.

Only kmock's public API is used: ``objects`` (``in``, ``[...]``, ``items()``, ``Object.raw``,
``.deleted``, ``.delete()``), iteration over the recorded requests, and ``kmock[criteria] <<
reaction``. ``kmock.Response`` is exported at the top of the package but missing from its
``__all__``, hence the one ``getattr`` below.
"""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kmock

Response: Any = getattr(kmock, "Response")  # exported, not in kmock's __all__

PODS = "v1/pods"
NODES = "v1/nodes"
NAMESPACES = "v1/namespaces"
NETPOLS = "networking.k8s.io/v1/networkpolicies"
EVENTS = "v1/events"
DEPLOYMENTS = "apps/v1/deployments"
REPLICASETS = "apps/v1/replicasets"
STATEFULSETS = "apps/v1/statefulsets"
DAEMONSETS = "apps/v1/daemonsets"
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
HANG_LIMIT_S = 60.0


def status_body(code: int, reason: str, message: str, **extra: Any) -> dict[str, Any]:
    """A Kubernetes ``Status`` failure body, as the API server answers errors."""
    return {"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
            "code": code, "reason": reason, "message": message, **extra}


def stored(emulator: kmock.KubernetesEmulator, resource: str, namespace: str | None,
           name: str) -> kmock.Object | None:
    """The emulator's live view of one object, or None when it was never stored; a
    soft-deleted one is returned (``.deleted`` says so)."""
    key = (kmock.resource(resource), namespace, name)
    return emulator.objects[key] if key in emulator.objects else None


def method(request: Any) -> str:
    """A recorded request's HTTP method as text (kmock gives an enum)."""
    return str(getattr(request.method, "value", request.method))


def paths(requests: Any) -> list[tuple[str, str]]:
    """``[(method, path), ...]`` of recorded requests, for asserting what was called."""
    return [(method(r), r.url.path) for r in requests]


class KmockCluster:
    """``KubernetesEmulator`` + ``Server`` on an event loop in a daemon thread."""

    def __init__(self) -> None:
        self.kmock: Any = None
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kmock", daemon=True)
        self._by_node: dict[str, dict[tuple[str, str], None]] = {}
        self._requests_seen = 0
        self.evicted: list[tuple[str, str]] = []
        self.logs: dict[tuple[str, str, str, bool], Any] = {}

    # -- lifecycle ----------------------------------------------------------------

    def start(self) -> KmockCluster:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("kmock did not start")
        return self

    def stop(self) -> None:
        """Stop the server, releasing what :meth:`hang` holds (so it stops well before
        ``HANG_LIMIT_S``); a second call does nothing."""
        if not self._thread.is_alive():
            return
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(HANG_LIMIT_S / 2)
        if self._thread.is_alive():
            raise RuntimeError("kmock did not stop")

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with kmock.KubernetesEmulator() as emulator, kmock.Server(emulator) as server:
            self.kmock = emulator
            self.url = str(server.url).rstrip("/")
            self._declare_reactions()
            self._ready.set()
            await self._stop.wait()

    def kubeconfig(self, path: Path, token: str = "test-token") -> str:
        """Write a kubeconfig for this cluster (bearer ``token``) at ``path``; returns it."""
        path.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: kmock\n"
            f"clusters:\n- name: kmock\n  cluster:\n    server: {self.url}\n"
            "contexts:\n- name: kmock\n  context:\n    cluster: kmock\n    user: kmock\n"
            f"users:\n- name: kmock\n  user:\n    token: {token}\n")
        return str(path)

    # -- reactions kmock does not emulate -------------------------------------------

    def _declare_reactions(self) -> None:
        km = self.kmock

        def node_list(request: Any) -> bool:
            return bool(request.method == "GET" and request.resource is not None
                    and request.resource.plural == "pods" and request.name is None
                    and "watch" not in request.params
                    and request.params.get("fieldSelector", "").startswith("spec.nodeName="))

        def eviction(request: Any) -> bool:
            return bool(request.method == "POST" and request.subresource == "eviction")

        def namespace_get(request: Any) -> bool:  # kmock reads /api/v1/namespaces/X as a list
            parts = request.url.path.strip("/").split("/")
            return bool(request.method == "GET" and len(parts) == 4
                        and parts[:3] == ["api", "v1", "namespaces"])

        km[node_list] << self._list_node_pods
        km[namespace_get] << self._get_namespace
        km[eviction] << self._evict
        from . import reactions

        reactions.declare(self)

    def _list_node_pods(self, request: Any) -> dict[str, Any]:
        node = request.params["fieldSelector"].split("=", 1)[1]
        items = []
        for namespace, name in self._by_node.get(node, {}):
            obj = stored(self.kmock, PODS, namespace, name)
            if obj is not None and not obj.deleted:
                items.append(obj.raw)
        return {"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "9"},
                "items": items}

    def _get_namespace(self, request: Any) -> Any:
        name = request.url.path.rstrip("/").rsplit("/", 1)[1]
        found = self.obj(NAMESPACES, None, name)
        if found is None:
            return Response(status=404, payload=status_body(404, "NotFound",
                                                                  f"namespace {name} not found"))
        return found

    def _evict(self, request: Any) -> Any:
        key = (request.namespace, request.name)
        obj = stored(self.kmock, PODS, *key)
        if obj is None or obj.deleted:
            return Response(status=404, payload=status_body(404, "NotFound", "pod not found"))
        obj.delete()
        self.evicted.append(key)
        return Response(status=201, payload={"apiVersion": "v1", "kind": "Status",
                                                   "status": "Success", "code": 201})

    def block_evictions(self, message: str = "Cannot evict pod as it would violate the pod's "
                        "disruption budget.") -> None:
        """Every eviction answers 429 as a PodDisruptionBudget makes it."""
        body = status_body(429, "TooManyRequests", message, details={
            "causes": [{"reason": "DisruptionBudget",
                        "message": "The disruption budget web-pdb needs 2 healthy pods and has 2"}]})
        (self.kmock[lambda r: r.method == "POST" and r.subresource == "eviction"] ** 10
         << (lambda: Response(status=429, payload=body)))

    def fail(self, method: str, path: str, statuses: list[int],
             body: Callable[[int], dict[str, Any]] | None = None) -> list[Any]:
        """Answer the next requests ``method path`` with ``statuses`` (in order), then let
        them through. Returns the list the failed requests are put in."""
        remaining = list(statuses)
        seen: list[Any] = []

        def react(request: Any) -> Any:
            if not remaining:
                return NotImplemented
            code = remaining.pop(0)
            seen.append(request)
            payload = body(code) if body else status_body(code, "InternalError", "injected")
            return Response(status=code, payload=payload)

        self.kmock[f"{method.lower()} {path}"] ** 20 << react
        return seen

    def react(self, method: str, path: str, reaction: Any) -> None:
        """Answer the next 20 requests ``method path`` with ``reaction`` (a kmock payload or
        a callable; ``NotImplemented`` lets a request through to the emulator)."""
        self.kmock[f"{method.lower()} {path}"] ** 20 << reaction

    def hang(self, method: str, path: str) -> list[Any]:
        """Never answer the next 20 requests ``method path``: each is held until the cluster
        stops (at most ``HANG_LIMIT_S``), so a client's own timeout is what ends the call,
        however slow the machine. Returns the list the held requests are put in."""
        held: list[Any] = []

        async def hold(request: Any) -> Any:
            held.append(request)
            assert self._stop is not None
            try:
                await asyncio.wait_for(self._stop.wait(), HANG_LIMIT_S)
            except TimeoutError:
                pass
            return Response(status=503, payload=status_body(503, "ServiceUnavailable",
                                                            "held until the cluster stopped"))

        self.react(method, path, hold)
        return held

    # -- objects ------------------------------------------------------------------

    def add_namespace(self, name: str, annotations: dict[str, str] | None = None) -> None:
        self.kmock.objects[NAMESPACES, None, name] = {
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "uid": f"uid-ns-{name}", "annotations": annotations or {}}}

    def add_node(self, name: str, *, labels: dict[str, str] | None = None,
                 taints: list[dict[str, Any]] | None = None, unschedulable: bool = False,
                 annotations: dict[str, str] | None = None) -> None:
        spec: dict[str, Any] = {"providerID": f"aws:///eu-west-1a/i-{abs(hash(name)):x}"}
        if taints:
            spec["taints"] = taints
        if unschedulable:
            spec["unschedulable"] = True
        self.kmock.objects[NODES, None, name] = {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "uid": f"uid-node-{name}", "resourceVersion": "100",
                         "labels": {"kubernetes.io/hostname": name, **(labels or {})},
                         "annotations": annotations or {}},
            "spec": spec, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}

    def add_pod(self, pod: dict[str, Any]) -> dict[str, Any]:
        namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        self.kmock.objects[PODS, namespace, name] = copy.deepcopy(pod)
        self._by_node.setdefault(pod["spec"]["nodeName"], {})[(namespace, name)] = None
        return pod

    def obj(self, resource: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        found = stored(self.kmock, resource, namespace, name)
        return None if found is None or found.deleted else found.raw

    def put(self, resource: str, namespace: str | None, name: str, obj: dict[str, Any]) -> None:
        """Store ``obj`` (a copy) as ``resource`` ``namespace/name``, replacing its history."""
        self.kmock.objects[resource, namespace, name] = copy.deepcopy(obj)

    # -- requests -----------------------------------------------------------------

    def requests(self) -> list[Any]:
        """The requests recorded since the cluster started or :meth:`clear_requests`."""
        return list(self.kmock)[self._requests_seen:]

    def writes(self) -> list[Any]:
        return [r for r in self.requests() if getattr(r.method, "value", r.method) in WRITES]

    def clear_requests(self) -> None:
        """Start :meth:`requests` afresh. kmock 0.8 has no public reset of its request log,
        so this remembers how many were seen; kmock keeps them (and reactions limited with
        ``** n`` keep their counts)."""
        self._requests_seen = len(list(self.kmock))
