"""Container logs, streamed: one GET per container (and one for its previous instance), read
in chunks into a :class:`TailSpool` until the log ends or the deadline comes."""

from __future__ import annotations

import time
from typing import Any

from falco_response_kubernetes import Kube

from .spool import CHUNK, TailSpool


class LogResult:
    def __init__(self, spool: TailSpool | None, note: str | None) -> None:
        self.spool = spool
        self.note = note     # why there is no (complete) log, or None


def fetch_log(kube: Kube, namespace: str, pod: str, container: str, previous: bool,
              limit: int, deadline: float, spool_dir: str | None = None) -> LogResult:
    """Stop reading at ``deadline`` (a ``time.monotonic()``), keeping what came."""
    from kubernetes.client import CoreV1Api
    from kubernetes.client.exceptions import ApiException

    left = deadline - time.monotonic()
    if left < 0.2:
        return LogResult(None, "not collected: the deadline passed")
    try:
        response = CoreV1Api(kube.api_client).read_namespaced_pod_log(
            pod, namespace, container=container, previous=previous, _preload_content=False,
            _request_timeout=(min(kube.timeout, left), min(kube.timeout, left)))
    except ApiException as exc:
        if previous and exc.status in (400, 404):
            return LogResult(None, "no previous instance")
        return LogResult(None, f"not collected: {exc.status} {str(exc.reason or '')[:200]}")
    except Exception as exc:  # no answer
        return LogResult(None, f"not collected: {type(exc).__name__}")
    kube.calls += 1
    spool = TailSpool(limit, spool_dir)
    note = None
    try:
        for chunk in response.stream(CHUNK, decode_content=True):
            spool.write(chunk)
            if time.monotonic() > deadline:
                note = "incomplete: the deadline passed while reading"
                break
    except Exception as exc:
        note = f"incomplete: {type(exc).__name__} while reading"
    finally:
        if note is None:
            response.release_conn()
        else:  # unread data left: the connection cannot be reused
            response.close()
    return LogResult(spool, note)
