"""Kubernetes Events on the objects we act on (``record_event: true``), so ``kubectl describe``
shows who deleted, tainted or isolated what, and for which Falco rule."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from falco_response import Alert

from .api import Kube, KubeError
from .targets import meta

REASON = "FalcoResponse"
COMPONENT = "falco-response"
_MAX_MESSAGE = 1024


def event_body(obj: dict[str, Any], kind: str, api_version: str, note: str,
               alert: Alert, now: datetime | None = None) -> dict[str, Any]:
    """A core/v1 Event about ``obj``; cluster-scoped objects get theirs in ``default``."""
    when = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    info = meta(obj)
    name = str(info.get("name"))
    namespace = info.get("namespace")
    involved: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "name": name}
    if namespace:
        involved["namespace"] = namespace
    if info.get("uid"):
        involved["uid"] = info["uid"]
    message = f"{note} (Falco rule: {alert.rule})"
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{name[:200]}.{time.time_ns():x}",
                     "namespace": namespace or "default"},
        "involvedObject": involved,
        "reason": REASON,
        "message": message[:_MAX_MESSAGE],
        "type": "Warning",
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": COMPONENT,
        "firstTimestamp": when,
        "lastTimestamp": when,
        "count": 1,
    }


def record(kube: Kube, obj: dict[str, Any], kind: str, api_version: str, note: str,
           alert: Alert, log: Any) -> str:
    """Create the Event; a failure here is noted, never turns the action into a failure."""
    body = event_body(obj, kind, api_version, note, alert)
    try:
        kube.create_event(body["metadata"]["namespace"], body)
    except KubeError as exc:
        log.warning("could not record a Kubernetes event", error=str(exc))
        return f"not recorded: {exc.message}"
    return "recorded"
