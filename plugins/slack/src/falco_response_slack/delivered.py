"""What one delivery to Slack becomes: the action's outcome. One path for ordinary posts and
approval notices, so whatever Slack sends back (an error quoting the token, a channel field)
is redacted in the outcome and the log whichever kind of message it was."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from falco_response import ActionContext, Outcome, Redactor

if TYPE_CHECKING:
    from .sending import Delivery


def outcome(ctx: ActionContext, delivery: Delivery, target: str, done: str,
            redact: Redactor) -> Outcome:
    """``ok`` with ``done`` as its reason, or ``failed`` saying what Slack answered."""
    detail: dict[str, Any] = {"http_status": delivery.status, "attempts": delivery.attempts}
    detail.update({k: v for k, v in redact.data(delivery.extra).items() if v is not None})
    if delivery.ok:
        ctx.log.info("slack message posted", action=ctx.action, target=target,
                     attempts=delivery.attempts)
        return ctx.ok(target=target, reason=done, detail=detail)
    error = detail["error"] = redact(delivery.error)
    reason = f"Slack answered HTTP {delivery.status}: {error}"
    if delivery.extra.get("gave_up"):
        reason += f" ({delivery.extra['gave_up']})"
    reason = redact(reason)
    ctx.log.warning("slack send failed", action=ctx.action, target=target,
                    http_status=delivery.status, error=error, attempts=delivery.attempts)
    return ctx.failed(reason, target=target, detail=detail)
