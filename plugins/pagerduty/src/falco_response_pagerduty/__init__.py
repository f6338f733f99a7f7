"""falco-response-pagerduty: the ``pagerduty`` action type (Events API v2 ``trigger``).

The same rule on the same target is one incident (``dedup_key``), severity follows Falco's
priority, and retries are bounded by attempts and by the action's deadline. The client is
imported on the first alert, not at config load.
"""

from __future__ import annotations

from typing import Any

from falco_response import Action, ActionContext, Outcome, Redactor, hookimpl

from .params import PagerDutyParams, validate

__all__ = ["PagerDutyParams", "make", "register_actions"]


def make(params: PagerDutyParams) -> Action:
    """Validate ``params`` now (a config error at startup) and return the per-alert callable."""
    endpoint, template = validate(params)
    target = f"pagerduty:{params.region if params.base_url is None else 'custom'}"
    state: dict[str, Any] = {}

    scrub = Redactor(secrets=[params.routing_key])

    def run(ctx: ActionContext) -> Outcome:
        from . import event

        key = template.render(ctx.alert)
        trigger = event.trigger(ctx.alert, ctx.response, ctx.previous, key, params.client_url)
        severity = trigger["payload"]["severity"]
        detail: dict[str, Any] = {"dedup_key": key, "severity": severity}
        if ctx.dry_run:
            return ctx.would(f"would trigger a {severity} PagerDuty event (dedup key {key})",
                             target=target, detail=detail)
        try:
            if "sender" not in state:
                from .sending import Sender

                state["sender"] = Sender(params.routing_key, endpoint, params.ca_bundle)
            delivery = state["sender"].send(trigger, deadline=ctx.deadline,
                                            timeout=params.timeout,
                                            max_attempts=params.max_attempts,
                                            retry_wait=params.retry_wait)
        except Exception as exc:  # a client bug must not leak the key through the engine
            reason = ("PagerDuty send failed: " + scrub.exception(exc))[:500]
            ctx.log.warning("pagerduty send failed", action=ctx.action, error=reason)
            return ctx.failed(reason, target=target, detail=detail)
        detail.update({"attempts": delivery.attempts, "http_status": delivery.status})
        if delivery.ok:
            ctx.log.info("pagerduty event sent", action=ctx.action, dedup_key=key,
                         severity=severity, attempts=delivery.attempts)
            return ctx.ok(target=target, reason=f"{severity} event sent (dedup key {key})",
                          detail=detail)
        reason = scrub(delivery.error or "failed")
        ctx.log.warning("pagerduty send failed", action=ctx.action, dedup_key=key,
                        http_status=delivery.status, attempts=delivery.attempts, error=reason)
        return ctx.failed(reason, target=target, detail=detail)

    return run


@hookimpl
def register_actions(register: Any) -> None:
    register("pagerduty", make, params=PagerDutyParams, destructive=False,
             summary="Triggers a PagerDuty incident (Events API v2), one per rule and target",
             permissions=["PagerDuty: an Events API v2 integration (routing key) on a service"])
