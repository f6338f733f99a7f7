"""falco-response-slack: the ``slack`` action type.

Posts a Block Kit message through an incoming webhook (``webhook_url``) or ``chat.postMessage``
(``token`` + ``channel``). slack-sdk is imported on the first alert, not at config load.
"""

from __future__ import annotations

from typing import Any

from falco_response import Action, ActionContext, Outcome, Redactor, hookimpl

from .params import SlackParams, validate

__all__ = ["SlackParams", "make", "register_actions"]


def make(params: SlackParams) -> Action:
    """Validate ``params`` now (a config error at startup) and return the per-alert callable."""
    threshold = validate(params)
    redact = Redactor(secrets=[params.token], urls=[params.webhook_url])
    target = "slack:webhook" if params.webhook_url else f"slack:{params.channel}"
    state: dict[str, Any] = {}

    def run(ctx: ActionContext) -> Outcome:
        from . import message

        if ctx.approval is not None:
            return _approval(ctx)
        mention = params.mention if ctx.alert.priority >= threshold else None
        body = message.build(ctx.alert, ctx.response, ctx.previous, mention,
                             getattr(ctx, "suppressed", 0))
        if ctx.dry_run:
            return ctx.would(f"would post to {target.replace(':', ' ', 1)}: "
                             f"{message.headline(ctx.alert)[:200]}", target=target,
                             detail={"mention": bool(mention),
                                     "blocks": len(body["blocks"]) +
                                     len(body["attachments"][0]["blocks"])})
        try:
            return _send(ctx, body, target, state)
        except Exception as exc:  # network errors, timeouts: a failed outcome, secrets removed
            return _unreachable(ctx, exc)

    def _approval(ctx: ActionContext) -> Outcome:
        from . import approval, sending

        try:
            if "ssl" not in state:
                state["ssl"] = sending.ssl_context(params.ca_bundle)
            return approval.run(ctx, params, ctx.approval, target, state["ssl"], redact)
        except Exception as exc:
            return _unreachable(ctx, exc)

    def _unreachable(ctx: ActionContext, exc: Exception) -> Outcome:
        reason = "could not reach Slack: " + redact.exception(exc)
        ctx.log.warning("slack send failed", action=ctx.action, target=target,
                        error=reason[:300])
        return ctx.failed(reason[:300], target=target)

    def _send(ctx: ActionContext, body: dict[str, Any], target: str,
              state: dict[str, Any]) -> Outcome:
        from . import delivered, sending

        if "ssl" not in state:
            state["ssl"] = sending.ssl_context(params.ca_bundle)
        common = {"deadline": ctx.deadline, "timeout": params.timeout,
                  "max_retries": params.max_retries, "context": state["ssl"]}
        if params.webhook_url:
            delivery = sending.send_webhook(params.webhook_url, body, redact=redact, **common)
        else:
            assert params.token is not None and params.channel is not None
            delivery = sending.send_chat(params.token, params.api_url, params.channel, body,
                                         redact=redact, **common)
        return delivered.outcome(ctx, delivery, target, "message posted", redact)

    return run


@hookimpl
def register_actions(register: Any) -> None:
    register("slack", make, params=SlackParams, destructive=False,
             summary="Posts a Block Kit alert to Slack (incoming webhook or chat.postMessage)",
             permissions=["Slack: an incoming webhook URL, or a bot token with chat:write "
                          "(the bot must be in the channel)"])
