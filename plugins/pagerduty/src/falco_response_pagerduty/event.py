"""The Events API v2 ``trigger`` event for one alert.

Severity follows Falco's priority instead of paging everything as critical; ``source``,
``component``, ``group`` and ``class`` carry the node, pod, namespace and rule so PagerDuty can
group and route on them; ``custom_details`` keeps everything Falco sent plus what containment
did, within PagerDuty's 512 KB event limit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from falco_response import Alert, Outcome, Priority, Status

from .params import target_of

SUMMARY_MAX = 1024
TRUNCATED = " [truncated]"
# PagerDuty refuses events over 512 KB; leave room for the envelope and the routing key.
DETAILS_BUDGET = 400_000
_SHORT_VALUE = 1024

SEVERITY: dict[Priority, str] = {
    Priority.EMERGENCY: "critical",
    Priority.ALERT: "critical",
    Priority.CRITICAL: "critical",
    Priority.ERROR: "error",
    Priority.WARNING: "warning",
    Priority.NOTICE: "info",
    Priority.INFORMATIONAL: "info",
    Priority.DEBUG: "info",
}


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(TRUNCATED)] + TRUNCATED


def summary(alert: Alert) -> str:
    """"Critical: Terminal shell in container on pod:payments/api-7f9 - <Falco's output>"."""
    head = f"{alert.priority.label}: {alert.rule} on {target_of(alert)}"
    text = f"{head} - {alert.output}" if alert.output else head
    return cut(" ".join(text.split()), SUMMARY_MAX)


def details(alert: Alert, response: str, previous: Sequence[Outcome]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "rule": alert.rule,
        "priority": alert.priority.label,
        "output": alert.output,
        "output_fields": dict(alert.output_fields),
        "tags": sorted(alert.tags),
        "hostname": alert.hostname,
        "source": alert.source,
        "time": alert.to_dict()["time"],
        "uuid": alert.uuid,
        "response": response,
        "containment": [{k: v for k, v in o.to_dict().items() if k != "response"}
                        for o in previous],
    }
    evidence = [{"target": o.target, **o.detail["evidence"]} for o in previous
                if o.status is Status.OK and isinstance(o.detail.get("evidence"), dict)]
    if evidence:  # where the earlier collect-evidence action stored the pod's evidence
        data["evidence"] = evidence
    if len(json.dumps(data, default=str)) > DETAILS_BUDGET:
        data["output"] = cut(alert.output, _SHORT_VALUE)
        data["output_fields"] = {k: cut(v, _SHORT_VALUE) if isinstance(v, str) else v
                                 for k, v in alert.output_fields.items()}
        data["truncated"] = True
        if len(json.dumps(data, default=str)) > DETAILS_BUDGET:
            data["output_fields"] = {}
            data["output_fields_dropped"] = len(alert.output_fields)
    return data


def trigger(alert: Alert, response: str, previous: Sequence[Outcome],
            dedup_key: str, client_url: str | None) -> dict[str, Any]:
    """The properties of ``send_event("trigger", ...)`` (the client adds the routing key)."""
    payload: dict[str, Any] = {
        "summary": summary(alert),
        "source": alert.node_name or alert.hostname or "falco",
        "severity": SEVERITY[alert.priority],
        "timestamp": alert.time.isoformat(timespec="microseconds"),
        "class": alert.rule,
        "custom_details": details(alert, response, previous),
    }
    if alert.pod_name:
        payload["component"] = alert.pod_name
    if alert.pod_namespace:
        payload["group"] = alert.pod_namespace
    event: dict[str, Any] = {"dedup_key": dedup_key, "payload": payload,
                             "client": "falco-response"}
    if client_url:
        event["client_url"] = client_url
    return event
