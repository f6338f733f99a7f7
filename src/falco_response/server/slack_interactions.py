"""``POST /slack/interactions``: Slack's Approve/Deny clicks, for configs with ``approval``.

Slack signs the request (no bearer token, no client certificate): the route checks the
signature with ``$SLACK_SIGNING_SECRET`` (:mod:`falco_response.approval.slack_signature`),
records the decision, answers at once, and carries the decision out after the answer (a
Starlette background task in a worker thread), so Slack's 3-second limit holds whatever the
action costs. Every request is counted by result in
``falco_response_approval_interactions_total``.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

import anyio.to_thread
import msgspec
from prometheus_client import Counter
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..approval.interactions import PATH, Interactions
from ..approval.slack_signature import SignatureChecker
from ..environment import SLACK_SIGNING_SECRET as SECRET_ENV



class Receiver(Protocol):
    """What the route needs of ``app.Receiver`` (which mounts it, so it is not imported):
    ``approvals``, the engine that carries the decisions out."""

    approvals: Any
    log: Any
    metrics: Any


_encode = msgspec.json.Encoder().encode
_LIMIT = 64 * 1024


def route(receiver: Receiver) -> Route:
    """The route, bound to the receiver's approvals engine and metrics registry."""
    interactions = Interactions(receiver.approvals, SignatureChecker(os.environ.get(SECRET_ENV)))
    if not interactions.checker.configured:
        receiver.log.error(f"approvals are configured but {SECRET_ENV} is not set: every "
                           "Slack click will be refused")
    counter = Counter("falco_response_approval_interactions", "Slack interaction requests "
                      "on /slack/interactions, by result (decided, or the refusal reason)",
                      ["result"], registry=receiver.metrics.registry)

    async def endpoint(request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > _LIMIT:
                counter.labels("too_large").inc()
                return Response(b'{"error":"payload too large"}', 413,
                                media_type="application/json")
        headers: Any = request.headers
        answer = await anyio.to_thread.run_sync(interactions.handle, headers, body)
        counter.labels(answer.refused or "decided").inc()
        if answer.refused:
            receiver.log.warning("slack interaction refused", status=answer.status,
                                 reason=answer.refused, error=answer.body.get("error"))
        task = BackgroundTask(answer.follow_up) if answer.follow_up else None
        return Response(_encode(answer.body), answer.status, media_type="application/json",
                        background=task)

    return Route(PATH, endpoint, methods=["POST"])
