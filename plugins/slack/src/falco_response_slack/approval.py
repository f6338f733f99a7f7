"""Approval requests in Slack: the alert's message plus the planned call and Approve/Deny
buttons; then the same message updated in place with the decision and the outcome.

The request goes where the action's other messages go (incoming webhook or
``chat.postMessage``). The update goes to the interaction's ``response_url`` when a click
brought one, else through ``chat.update`` (token mode), else as a new webhook message. Every
text that came from an alert (target, planned call, outcome reason) is escaped.
"""

from __future__ import annotations

import ssl
from datetime import datetime, timezone
from typing import Any

from falco_response import ActionContext, Outcome, Redactor
from falco_response.approval import Notice
from falco_response.approval.notice import APPROVE_ACTION, DENY_ACTION

from . import message
from .escaping import SECTION_TEXT_MAX, code, escape, fit, one_line
from .params import SlackParams

_ICON = {"approved": ":white_check_mark:", "proceeded": ":hourglass:",
         "denied": ":no_entry:", "expired": ":no_entry:"}


def _hhmm(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%H:%M UTC")


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def _plan_blocks(notice: Notice) -> list[dict[str, Any]]:
    approvers = " ".join(f"<@{a}>" for a in notice.approvers)  # validated ids, not alert text
    what = fit(one_line(notice.planned), 1500, code)
    target = code(one_line(notice.target or "-")[:300])
    policy = ("it runs anyway" if notice.on_timeout == "proceed" else "it is denied")
    return [
        _section(f"*Approval needed* for {code(notice.action)} on {target}\n"
                 f"Planned: {what}"),
        {"type": "context", "elements": [{"type": "mrkdwn", "verbatim": True, "text":
            f"Approvers: {approvers} \u2022 until {_hhmm(notice.expires_at)} (then {policy}) "
            f"\u2022 id {code(notice.approval_id)}"}]},
    ]


def request_body(ctx: ActionContext, notice: Notice) -> dict[str, Any]:
    body = message.build(ctx.alert, ctx.response, (), None)
    buttons = {"type": "actions", "block_id": f"approval-{notice.approval_id}", "elements": [
        {"type": "button", "action_id": APPROVE_ACTION, "value": notice.approval_id,
         "style": "danger", "text": {"type": "plain_text", "text": "Approve"},
         "confirm": {"title": {"type": "plain_text", "text": "Run it?"},
                     "text": {"type": "plain_text", "text": fit(
                         one_line(notice.planned), 250, lambda t: t)},
                     "confirm": {"type": "plain_text", "text": "Approve"},
                     "deny": {"type": "plain_text", "text": "Cancel"}}},
        {"type": "button", "action_id": DENY_ACTION, "value": notice.approval_id,
         "text": {"type": "plain_text", "text": "Deny"}},
    ]}
    body["blocks"] = [*body["blocks"], *_plan_blocks(notice), buttons]
    body["text"] = f"Approval needed: {escape(one_line(notice.planned))[:2000]}"
    return body


def update_body(ctx: ActionContext, notice: Notice) -> dict[str, Any]:
    body = message.build(ctx.alert, ctx.response, (), None)
    decision = notice.decision or "decided"
    outcome = f"{notice.outcome_status or '?'}: {one_line(notice.outcome_reason or '')}"
    body["blocks"] = [*body["blocks"], *_plan_blocks(notice)[:1], _section(
        f"{_ICON.get(decision, '')} *{decision.capitalize()}* \u2014 "
        f"{escape(one_line(notice.decided_by or ''))}\n"
        f"Outcome: {fit(outcome, SECTION_TEXT_MAX - 200, code)}")]
    body["text"] = f"{decision.capitalize()}: {escape(one_line(notice.planned))[:2000]}"
    body["replace_original"] = True
    return body


def run(ctx: ActionContext, params: SlackParams, notice: Notice, target: str,
        context: ssl.SSLContext, redact: Redactor) -> Outcome:
    """Post the notice; raises for network errors (the caller scrubs secrets)."""
    from . import delivered, sending

    common: dict[str, Any] = {"deadline": ctx.deadline, "timeout": params.timeout,
                              "max_retries": params.max_retries, "context": context,
                              "redact": redact}
    if notice.kind == "reply":
        if not notice.response_url:
            return ctx.skipped("no response_url to reply to", target=target)
        body: dict[str, Any] = {"response_type": "ephemeral", "replace_original": False,
                                "text": escape(one_line(notice.text or ""))[:2000]}
        delivery = sending.send_response_url(notice.response_url, body, **common)
        return delivered.outcome(ctx, delivery, target, "reply posted", redact)
    body = request_body(ctx, notice) if notice.kind == "request" else update_body(ctx, notice)
    if ctx.dry_run:
        return ctx.would(f"would post to {target.replace(':', ' ', 1)}: {body['text'][:300]}",
                         target=target, detail={"blocks": len(body["blocks"])})
    if notice.kind == "update" and notice.response_url:
        delivery = sending.send_response_url(notice.response_url, body, **common)
    elif notice.kind == "update" and params.token and notice.channel and notice.ts:
        body.pop("replace_original", None)
        delivery = sending.update_chat(params.token, params.api_url, notice.channel, notice.ts,
                                       body, **common)
    elif params.webhook_url:
        body.pop("replace_original", None)
        delivery = sending.send_webhook(params.webhook_url, body, **common)
    else:
        assert params.token is not None and params.channel is not None
        body.pop("replace_original", None)
        delivery = sending.send_chat(params.token, params.api_url, params.channel, body,
                                     **common)
    done = ("approval request posted" if notice.kind == "request"
            else "approval message updated")
    return delivered.outcome(ctx, delivery, target, done, redact)
