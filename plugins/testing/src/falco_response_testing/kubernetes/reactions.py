"""More of the API server than kmock 0.8 emulates, declared as reactions on a
:class:`~.cluster.KmockCluster`: the ``scale`` subresource of Deployments and
StatefulSets (reads and writes ``spec.replicas`` of the stored object), label selectors on a
namespace's pod list, field selectors on a namespace's Event list, and container logs
(``/pods/X/log``, streamed from what a test set with :func:`set_log`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import kmock

from .cluster import EVENTS, PODS, Response, status_body, stored

LogSource = Callable[[], Iterator[bytes]]


def _res(request: Any) -> str | None:
    return None if request.resource is None else str(request.resource.plural)


def declare(cluster: Any) -> None:
    km = cluster.kmock
    cluster.logs = {}

    def scale(request: Any) -> bool:
        return bool(request.subresource == "scale" and _res(request) in ("deployments",
                                                                         "statefulsets"))

    def labelled_pods(request: Any) -> bool:
        return bool(request.method == "GET" and _res(request) == "pods" and request.name is None
                    and "watch" not in request.params and "labelSelector" in request.params
                    and request.namespace is not None)

    def event_list(request: Any) -> bool:
        return bool(request.method == "GET" and _res(request) == "events" and request.name is None
                    and "watch" not in request.params and request.namespace is not None)

    def log(request: Any) -> bool:
        return bool(request.method == "GET" and request.subresource == "log")

    km[scale] << (lambda request: _scale(cluster, request))
    km[labelled_pods] << (lambda request: _select_pods(cluster, request))
    km[event_list] << (lambda request: _list_events(cluster, request))
    km[log] << (lambda request: _log(cluster, request))


def _scale(cluster: Any, request: Any) -> Any:
    plural = _res(request)
    resource = f"apps/v1/{plural}"
    found = stored(cluster.kmock, resource, request.namespace, request.name)
    if found is None or found.deleted:
        return Response(status=404, payload=status_body(404, "NotFound",
                                                        f"{plural} {request.name} not found"))
    obj = copy.deepcopy(found.raw)
    if getattr(request.method, "value", request.method) == "PATCH":
        replicas = ((request.data or {}).get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            return Response(status=422, payload=status_body(422, "Invalid", "bad replicas"))
        obj.setdefault("spec", {})["replicas"] = replicas
        meta = obj.setdefault("metadata", {})
        meta["resourceVersion"] = str(int(meta.get("resourceVersion") or "1") + 1)
        cluster.kmock.objects[resource, request.namespace, request.name] = obj
    meta = obj.get("metadata") or {}
    return {"apiVersion": "autoscaling/v1", "kind": "Scale",
            "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace"),
                         "resourceVersion": meta.get("resourceVersion", "1"),
                         "uid": meta.get("uid")},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0)}}


def _matches(labels: dict[str, Any], selector: str) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        key, _, value = term.partition("=")
        if labels.get(key.rstrip("=")) != value.lstrip("="):
            return False
    return True


def _items(cluster: Any, resource: str, namespace: str) -> list[dict[str, Any]]:
    found = []
    wanted = kmock.resource(resource)
    for (res, ns, _name), obj in list(cluster.kmock.objects.items()):
        if res == wanted and ns == namespace and not obj.deleted:
            found.append(obj.raw)
    return found


def _select_pods(cluster: Any, request: Any) -> Any:
    selector = request.params["labelSelector"]
    items = [p for p in _items(cluster, PODS, request.namespace)
             if _matches((p.get("metadata") or {}).get("labels") or {}, selector)]
    return {"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "9"},
            "items": items}


def _list_events(cluster: Any, request: Any) -> Any:
    wanted = {}
    for term in filter(None, request.params.get("fieldSelector", "").split(",")):
        key, _, value = term.partition("=")
        wanted[key] = value

    def keep(event: dict[str, Any]) -> bool:
        involved = event.get("involvedObject") or {}
        return all(involved.get(k.split(".", 1)[1]) == v for k, v in wanted.items()
                   if k.startswith("involvedObject."))
    items = [e for e in _items(cluster, EVENTS, request.namespace) if keep(e)]
    return {"apiVersion": "v1", "kind": "EventList", "metadata": {"resourceVersion": "9"},
            "items": items}


def set_log(cluster: Any, namespace: str, pod: str, container: str, source: bytes | LogSource,
            *, previous: bool = False) -> None:
    """What ``GET .../pods/POD/log?container=C[&previous=true]`` answers: bytes, or a callable
    giving an iterator (or async iterator) of chunks (streamed, for large or slow logs)."""
    cluster.logs[(namespace, pod, container, previous)] = source


def _log(cluster: Any, request: Any) -> Any:
    container = request.params.get("container", "")
    previous = request.params.get("previous", "false").lower() == "true"
    source = cluster.logs.get((request.namespace, request.name, container, previous))
    if source is None:
        message = (f"previous terminated container \"{container}\" in pod \"{request.name}\" "
                   "not found" if previous else f"container {container} not found")
        return Response(status=400 if previous else 404,
                        payload=status_body(400 if previous else 404, "BadRequest", message))
    if isinstance(source, bytes):
        return source
    chunks = source()
    if hasattr(chunks, "__aiter__"):  # an async generator: a slow log that does not block kmock
        return chunks
    return (chunk for chunk in chunks)
