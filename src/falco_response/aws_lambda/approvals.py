"""Approvals on Lambda: Slack's clicks through the function URL, timeouts from a schedule.

- A function URL (or API Gateway) request to ``/slack/interactions`` is a Slack interaction:
  verified and decided as ``serve`` does (:mod:`falco_response.approval.interactions`) and
  answered at once. Lambda freezes a function once it has answered, so the decision is
  carried out by the next scheduled invocation (within a minute), never after the answer.
- ``{"falco_response": "approval-sweep"}`` (the SAM template's EventBridge schedule, every
  minute) runs one sweep: timeouts under their policy, decisions not yet carried out.
"""

from __future__ import annotations

import base64
import os
from typing import Any, Protocol

import msgspec

from ..approval.interactions import PATH, Interactions
from ..approval.slack_signature import SignatureChecker
from ..environment import SLACK_SIGNING_SECRET as SECRET_ENV



class Runtime(Protocol):
    """What this module needs of the handler's runtime (``handler.Runtime``), named here so
    the handler, which routes to this module, is not imported back."""

    engine: Any
    log: Any


SWEEP_EVENT = {"falco_response": "approval-sweep"}
_interactions: dict[int, Interactions] = {}


def _path(event: dict[str, Any]) -> str | None:
    http = (event.get("requestContext") or {}).get("http") or {}
    path = event.get("rawPath") or http.get("path") or event.get("path")
    return path if isinstance(path, str) else None


def route(runtime: Runtime, event: Any) -> dict[str, Any] | None:
    """The answer to an approval event, or None for an event that is not one."""
    if not isinstance(event, dict):
        return None
    if event == SWEEP_EVENT:
        from ..approval.sweeper import sweep

        done = sweep(runtime.engine)
        runtime.log.info("approval sweep", carried_out=done)
        return {"approvals_carried_out": done}
    if "requestContext" not in event or (_path(event) or "").rstrip("/") != PATH:
        return None
    interactions = _interactions.get(id(runtime))
    if interactions is None:
        interactions = Interactions(runtime.engine,
                                    SignatureChecker(os.environ.get(SECRET_ENV)))
        _interactions.clear()
        _interactions[id(runtime)] = interactions
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else str(body).encode()
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    answer = interactions.handle(headers, raw)
    if answer.refused:
        runtime.log.warning("slack interaction refused", status=answer.status,
                            reason=answer.refused, error=answer.body.get("error"))
    elif "text" in answer.body and not answer.body["text"].startswith("already"):
        answer.body["text"] += "; carried out within a minute"
    return {"statusCode": answer.status, "headers": {"content-type": "application/json"},
            "body": msgspec.json.encode(answer.body).decode()}
