"""Which pod runs a container: remembered from the last LIST of a node's pods.

Resolving a pod by ``container.id`` lists the pods of the alert's node. A process that lives
on (``serve``, ``consume``, ``handle`` under Falco's ``program_output``, a warm Lambda)
sees the same containers again and again, so each LIST is remembered: container id ->
(namespace, name, uid) for every container of every pod of that node. A repeated lookup
then costs one GET of the pod by name, and the answer is trusted only when that fresh pod
still has the same uid, still runs on the node, and still lists the container in its
status; otherwise the entry is dropped and the node listed again. The memory never
decides on its own: it only says which pod to fetch.

Bounded: at most ``MAX_NODES`` nodes per API server (least recently listed go first).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from .names import strip_runtime

MAX_NODES = 512
_SHORT = 12  # Falco prints the first 12 characters of a container id


class _Entry:
    __slots__ = ("pod", "uid")

    def __init__(self, namespace: str, name: str, uid: str) -> None:
        self.pod = (namespace, name)
        self.uid = uid


def container_ids(pod: dict[str, Any]) -> list[str]:
    """Every container id in a pod's status (regular, init, ephemeral), runtime prefix off."""
    status = pod.get("status") or {}
    found = []
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for entry in status.get(key) or ():
            cid = strip_runtime(str((entry or {}).get("containerID") or "")).lower()
            if cid:
                found.append(cid)
    return found


class PodsByContainer:
    """Per (API server, node): container id (full and 12-character) -> the pod's identity."""

    def __init__(self, max_nodes: int = MAX_NODES) -> None:
        self._nodes: OrderedDict[tuple[str, str], dict[str, _Entry | None]] = OrderedDict()
        self._max = max_nodes
        self._lock = threading.Lock()

    def remember(self, server: str, node: str, pods: list[dict[str, Any]]) -> None:
        """Replace what is known of ``node`` with the pods a LIST of it just returned."""
        table: dict[str, _Entry | None] = {}
        for pod in pods:
            metadata = pod.get("metadata") or {}
            namespace, name, uid = (metadata.get("namespace"), metadata.get("name"),
                                    metadata.get("uid"))
            if not (isinstance(namespace, str) and isinstance(name, str) and isinstance(uid, str)):
                continue
            entry = _Entry(namespace, name, uid)
            for cid in container_ids(pod):
                for key in {cid, cid[:_SHORT]}:
                    if key not in table:
                        table[key] = entry
                    elif (seen := table[key]) is not None and seen.pod != entry.pod:
                        table[key] = None  # two pods share it: a LIST must say which
        with self._lock:
            self._nodes[server, node] = table
            self._nodes.move_to_end((server, node))
            while len(self._nodes) > self._max:
                self._nodes.popitem(last=False)

    def lookup(self, server: str, node: str, container_id: str) -> tuple[str, str, str] | None:
        """(namespace, name, uid) of the pod last seen running ``container_id`` on ``node``."""
        with self._lock:
            table = self._nodes.get((server, node))
        entry = None if table is None else table.get(container_id)
        if entry is None:
            return None
        return entry.pod[0], entry.pod[1], entry.uid

    def forget(self, server: str, node: str) -> None:
        with self._lock:
            self._nodes.pop((server, node), None)

    def clear(self) -> None:
        with self._lock:
            self._nodes.clear()


def still_runs(pod: dict[str, Any] | None, uid: str, node: str, container_id: str) -> bool:
    """Whether a freshly fetched pod is the one remembered and still runs the container."""
    if pod is None:
        return False
    if (pod.get("metadata") or {}).get("uid") != uid:
        return False
    if (pod.get("spec") or {}).get("nodeName") != node:
        return False
    return any(cid.startswith(container_id) for cid in container_ids(pod))


PODS_BY_CONTAINER = PodsByContainer()
"""The process's memory (one per process: every action and engine in it shares it)."""
