"""``collect-evidence``: before containment destroys it, keep what a responder needs.

For the pod an alert names: the pod object, its owner chain, each container's logs (current
and previous, the last ``max_log_bytes`` of each), the pod's Events, the node's summary, and
the alert; one ``tar.gz`` with ``manifest.json`` (each file's sha256 and size, the collection
time, the cluster, the alert's uuid and rule), to a directory or S3. Memory stays small
whatever the pod logs (logs stream to disk, the archive streams to disk, then to the sink);
the action's deadline and ``max_total_bytes`` bound the rest.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from typing import Any

from falco_response import Action, ActionContext, Alert, Outcome
from falco_response_kubernetes import (Connection, Kube, check_pod, meta, resolve_pod,
                                       run_action)
from falco_response_kubernetes.workloads import KINDS, owner_chain

from .archive import Archive
from .logs import fetch_log
from .params import EvidenceParams, check, cluster_label
from .sinks import FileSink, S3Sink, SinkError

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SAFE = re.compile(r"[^A-Za-z0-9._-]")
FORMAT = 1


def strip(obj: dict[str, Any]) -> dict[str, Any]:
    """An object as evidence: without managedFields (noise), otherwise as the API gave it."""
    value = dict(obj)
    metadata = dict(value.get("metadata") or {})
    metadata.pop("managedFields", None)
    value["metadata"] = metadata
    return value


def node_summary(node: dict[str, Any]) -> dict[str, Any]:
    info, spec, status = meta(node), node.get("spec") or {}, node.get("status") or {}
    return {"name": info.get("name"), "uid": info.get("uid"), "labels": info.get("labels"),
            "creationTimestamp": info.get("creationTimestamp"),
            "providerID": spec.get("providerID"), "taints": spec.get("taints"),
            "unschedulable": bool(spec.get("unschedulable")),
            "addresses": status.get("addresses"), "nodeInfo": status.get("nodeInfo"),
            "conditions": [{k: c.get(k) for k in ("type", "status", "reason",
                                                   "lastTransitionTime")}
                           for c in status.get("conditions") or [] if isinstance(c, dict)],
            "capacity": status.get("capacity"), "allocatable": status.get("allocatable")}


def alert_id(alert: Alert) -> str:
    """The alert's uuid when it is one, else a digest: never alert text in an object key."""
    if alert.uuid and _UUID.fullmatch(alert.uuid):
        return alert.uuid.lower()
    seed = f"{alert.time_ns}\x1f{alert.rule}\x1f{alert.output}".encode("utf-8", "replace")
    return "sha256-" + hashlib.sha256(seed).hexdigest()[:24]


def object_key(prefix: str, cluster: str, namespace: str, pod: str, when: datetime,
               alert: Alert) -> str:
    stamp = when.strftime("%Y%m%dT%H%M%SZ")
    parts = [prefix] if prefix else []
    return "/".join(parts + [cluster, namespace, pod, f"{stamp}-{alert_id(alert)}.tar.gz"])


def _events(kube: Kube, namespace: str, pod: dict[str, Any], limit: int) -> list[Any]:
    from kubernetes.client import CoreV1Api

    info = meta(pod)
    selector = f"involvedObject.name={info.get('name')},involvedObject.uid={info.get('uid')}"
    body = kube.call(f"LIST events of pod {namespace}/{info.get('name')}",
                     CoreV1Api(kube.api_client).list_namespaced_event, namespace,
                     field_selector=selector)
    items = [e for e in body.get("items") or [] if isinstance(e, dict)]
    items.sort(key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
    return [strip(e) for e in items[-limit:]]


def make_collect_evidence(params: EvidenceParams) -> Action:
    scheme, where, prefix = check(params)
    connection = Connection(params)
    sink = FileSink(where) if scheme == "file" else S3Sink(where, params.s3)
    cluster = cluster_label(params)

    def body(ctx: ActionContext, kube: Kube) -> Outcome:
        resolved = resolve_pod(kube, ctx.alert, ctx.settings)
        target, ns, name = resolved.target, resolved.namespace, resolved.name
        if resolved.pod is None:
            return ctx.skipped(f"pod {ns}/{name} is gone: no evidence to collect",
                               target=target)
        check_pod(kube, resolved, ctx.settings)
        pod = resolved.pod
        started = datetime.now(timezone.utc)
        key = object_key(prefix, cluster, ns, name, started, ctx.alert)
        shown = f"s3://{where}/{key}" if scheme == "s3" else f"file://{where}/{key}"
        containers = [str(c.get("name")) for k in ("initContainers", "containers",
                                                   "ephemeralContainers")
                      for c in (pod.get("spec") or {}).get(k) or [] if isinstance(c, dict)]
        if ctx.dry_run:
            return ctx.would(f"would collect evidence for pod {ns}/{name} ({len(containers)} "
                             f"containers' logs, owners, events, node) to {shown}",
                             target=target, detail={"evidence": {"uri": shown}})
        # Logs stop early enough to leave time for the manifest and the sink.
        budget = ctx.remaining()
        logs_until = ctx.deadline - min(5.0, max(0.5, budget * 0.2))
        archive = Archive(sink.spool_dir, started.timestamp())
        skipped: list[dict[str, str]] = []
        try:
            archive.add_json("alert.json", ctx.alert.to_dict())
            archive.add_json("pod.json", strip(pod))
            for i, owner in enumerate(owner_chain(kube, pod, tuple(KINDS))):
                if owner.obj is None:
                    skipped.append({"what": owner.ref, "reason": "not readable"})
                    continue
                archive.add_json(f"owners/{i}-{owner.kind.lower()}-{owner.name}.json",
                                 strip(owner.obj))
            if params.max_events:
                archive.add_json("events.json", _events(kube, ns, pod, params.max_events))
            node_name = (pod.get("spec") or {}).get("nodeName")
            node = kube.get_node(str(node_name)) if node_name else None
            if node is not None:
                archive.add_json("node.json", node_summary(node))
            else:
                skipped.append({"what": f"node {node_name}", "reason": "not found"})
            for container in containers:
                for previous in ((False, True) if params.previous_logs else (False,)):
                    label = f"{container}{' (previous)' if previous else ''}"
                    room = params.max_total_bytes - archive.total
                    if room < 1024:
                        skipped.append({"what": f"log {label}",
                                        "reason": "max_total_bytes reached"})
                        continue
                    got = fetch_log(kube, ns, name, container, previous,
                                    min(params.max_log_bytes, room), logs_until,
                                    sink.spool_dir)
                    if got.spool is None:
                        skipped.append({"what": f"log {label}", "reason": got.note or "?"})
                        continue
                    try:
                        safe = _SAFE.sub("_", container)
                        archive.add_stream(f"logs/{safe}{'.previous' if previous else ''}.log",
                                           got.spool.size, got.spool.chunks(),
                                           truncated=got.spool.truncated or None,
                                           bytes_read=got.spool.written, note=got.note)
                    finally:
                        got.spool.close()
            collected = datetime.now(timezone.utc)
            size, sha = archive.finish({
                "format": FORMAT, "cluster": cluster,
                "started_at": started.isoformat().replace("+00:00", "Z"),
                "collected_at": collected.isoformat().replace("+00:00", "Z"),
                "alert": {"uuid": ctx.alert.uuid, "rule": ctx.alert.rule,
                          "priority": ctx.alert.priority.label,
                          "time": ctx.alert.to_dict()["time"]},
                "pod": {"namespace": ns, "name": name, "uid": meta(pod).get("uid"),
                        "node": node_name},
                "limits": {"max_log_bytes": params.max_log_bytes,
                           "max_total_bytes": params.max_total_bytes},
                "skipped": skipped})
        except BaseException:
            archive.discard()
            raise
        try:
            uri = sink.put(archive.path, key)
        except SinkError as exc:
            archive.discard()
            return ctx.failed(f"evidence collected but not stored: {exc}", target=target)
        files = len(archive.entries) + 1
        detail = {"evidence": {"uri": uri, "size": size, "sha256": sha, "files": files,
                               "skipped": len(skipped)}}
        return ctx.ok(target=target, detail=detail,
                      reason=f"evidence collected: {uri} ({size} bytes, {files} files"
                             + (f", {len(skipped)} not collected" if skipped else "") + ")")

    def run(ctx: ActionContext) -> Outcome:
        return run_action(ctx, connection, body)

    return run
