"""falco-response-webhook: the ``webhook`` action type.

POSTs ``{"alert": ..., "response": ..., "action": ..., "outcomes": [...]}`` as JSON to a
URL, with configured headers, an optional bearer token and an optional HMAC-SHA256 signature
(see :mod:`falco_response_webhook.signing` for how a receiver verifies it).
"""

from __future__ import annotations

import json
import ssl
from typing import Any

from falco_response import Action, ActionContext, Outcome, Redactor, hookimpl

from .params import WebhookParams, validate
from .signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

__all__ = ["WebhookParams", "body_for", "make", "register_actions"]


def body_for(ctx: ActionContext) -> bytes:
    """The exact bytes POSTed (and signed): the alert in Falco's JSON shape, and the outcomes
    of the earlier actions of the same response."""
    document = {
        "alert": ctx.alert.to_dict(),
        "response": ctx.response,
        "action": ctx.action,
        "outcomes": [o.to_dict() for o in ctx.previous],
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"),
                      default=str).encode("utf-8")


def make(params: WebhookParams) -> Action:
    """Validate ``params`` now (a config error at startup) and return the per-alert callable."""
    target = validate(params)
    fixed = {"Content-Type": "application/json", **params.headers}
    if params.bearer_token:
        fixed["Authorization"] = f"Bearer {params.bearer_token}"
    scrub = Redactor(secrets=[params.bearer_token, params.secret, *params.headers.values()],
                     urls=[params.url])
    state: dict[str, ssl.SSLContext] = {}

    def headers_for(body: bytes) -> dict[str, str]:
        if params.secret is None:
            return dict(fixed)
        signed = sign(params.secret, body)
        return {**fixed, params.timestamp_header: signed[TIMESTAMP_HEADER],
                params.signature_header: signed[SIGNATURE_HEADER]}

    def run(ctx: ActionContext) -> Outcome:
        body = body_for(ctx)
        detail: dict[str, Any] = {"bytes": len(body), "signed": params.secret is not None}
        if ctx.dry_run:
            return ctx.would(f"would POST the alert ({len(body)} bytes) to {target}",
                             target=target, detail=detail)
        from .sending import deliver

        try:
            if "ssl" not in state:
                state["ssl"] = ssl.create_default_context(cafile=params.ca_bundle)
            delivery = deliver(params.url, body, lambda: headers_for(body),
                               deadline=ctx.deadline, timeout=params.timeout,
                               max_attempts=params.max_attempts, retry_wait=params.retry_wait,
                               context=state["ssl"])
        except Exception as exc:
            reason = ("webhook send failed: " + scrub.exception(exc))[:500]
            ctx.log.warning("webhook send failed", action=ctx.action, target=target,
                            error=reason)
            return ctx.failed(reason, target=target, detail=detail)
        detail.update({"http_status": delivery.status, "attempts": delivery.attempts})
        if delivery.ok:
            ctx.log.info("webhook delivered", action=ctx.action, target=target,
                         http_status=delivery.status, attempts=delivery.attempts)
            return ctx.ok(target=target, reason=f"delivered (HTTP {delivery.status})",
                          detail=detail)
        reason = scrub(delivery.error or "failed")
        ctx.log.warning("webhook send failed", action=ctx.action, target=target,
                        http_status=delivery.status, attempts=delivery.attempts, error=reason)
        return ctx.failed(reason, target=target, detail=detail)

    return run


@hookimpl
def register_actions(register: Any) -> None:
    register("webhook", make, params=WebhookParams, destructive=False,
             summary="POSTs the alert and its outcomes as JSON to a URL (optionally signed)",
             permissions=["the receiver's bearer token or headers, if it requires them"])
