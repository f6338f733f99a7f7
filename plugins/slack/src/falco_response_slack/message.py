"""The Block Kit message: what a responder needs to act on an alert at a glance.

Layout: a header (priority and rule) and, for high priorities, the operator's mention at top
level; then an attachment coloured by priority with the Kubernetes / container / process
fields, the alert's text, what the earlier actions of the same response did, and a context
line (time, host, source, tags, uuid). Every alert-derived string goes through
:mod:`.escaping`; every text is cut to Slack's limits with a visible "[truncated]".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from falco_response import Alert, Outcome, Priority, Status

from .escaping import (BLOCKS_MAX, CONTEXT_ELEMENTS_MAX, FALLBACK_TEXT_MAX, FIELD_TEXT_MAX,
                       FIELDS_PER_SECTION, HEADER_TEXT_MAX, SECTION_TEXT_MAX, TRUNCATED, code,
                       escape, fit, one_line, pre)

COLOURS: dict[Priority, str] = {
    Priority.EMERGENCY: "#7a0000",
    Priority.ALERT: "#b00020",
    Priority.CRITICAL: "#e01e5a",
    Priority.ERROR: "#f2711c",
    Priority.WARNING: "#ecb22e",
    Priority.NOTICE: "#2eb6b0",
    Priority.INFORMATIONAL: "#36c5f0",
    Priority.DEBUG: "#9e9e9e",
}

EMOJI: dict[Priority, str] = {
    Priority.EMERGENCY: ":rotating_light:",
    Priority.ALERT: ":rotating_light:",
    Priority.CRITICAL: ":rotating_light:",
    Priority.ERROR: ":red_circle:",
    Priority.WARNING: ":warning:",
    Priority.NOTICE: ":large_blue_circle:",
    Priority.INFORMATIONAL: ":information_source:",
    Priority.DEBUG: ":information_source:",
}

# (label, output fields tried in order); shown when present.
FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Namespace", ("k8s.ns.name", "ka.target.namespace")),
    ("Pod", ("k8s.pod.name",)),
    ("Container", ("container.name", "container.id")),
    ("Image", ("container.image.repository",)),
    ("User", ("user.name", "ka.user.name", "user.uid")),
    ("Command", ("proc.cmdline", "proc.name")),
    ("Parent", ("proc.pname",)),
    ("File", ("fd.name",)),
)

_LINE_MAX = 300


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _field(label: str, value: str) -> dict[str, Any]:
    return _mrkdwn(fit(value, FIELD_TEXT_MAX, lambda v: f"*{label}*\n{code(v)}"))


def alert_fields(alert: Alert) -> list[tuple[str, str]]:
    """The (label, raw value) pairs to show, in display order."""
    found: list[tuple[str, str]] = [("Priority", alert.priority.label)]
    for label, names in FIELDS:
        value = _first(alert, names)
        if label == "Pod" and value is None:
            value = alert.pod_name
        if label == "Image" and value is not None:
            tag = alert.text("container.image.tag")
            value = f"{value}:{tag}" if tag else value
        if value is not None:
            found.append((label, value))
        if label == "Pod" and alert.node_name:
            found.append(("Node", alert.node_name))
    return found


def _first(alert: Alert, names: tuple[str, ...]) -> str | None:
    for name in names:
        value = alert.text(name)
        if value is not None:
            return value
    return None


def describe(outcome: Outcome) -> str:
    """One earlier action as a short line: "pod payments/api-7f9 deleted",
    "dry run: would taint node ip-10-0-1-5", "skipped kill: namespace kube-system is protected"."""
    target = (outcome.target or "").replace(":", " ", 1)
    reason = outcome.reason or ""
    if outcome.status is Status.OK:
        if target and reason:
            return f"{target} {reason}" if not reason.startswith(target) else reason
        return f"{outcome.action}: {reason or target or 'done'}"
    if outcome.status is Status.DRY_RUN:
        return f"dry run: {reason or f'{outcome.action} on {target}'}"
    if outcome.status is Status.SKIPPED:
        return f"skipped {outcome.action}: {reason}"
    if outcome.status is Status.PENDING:
        return f"{outcome.action}: {reason}"
    return f"FAILED {outcome.action}{f' on {target}' if target else ''}: {reason}"


def _previous_block(response: str, previous: Sequence[Outcome]) -> dict[str, Any]:
    lines = [one_line(describe(o))[:_LINE_MAX] for o in previous]
    title = f"*Earlier actions of response {code(response[:_LINE_MAX])}*\n"

    def render(raw: str) -> str:
        return title + "\n".join("\u2022 " + code(line) for line in raw.split("\n"))

    return {"type": "section", "text": _mrkdwn(fit("\n".join(lines), SECTION_TEXT_MAX, render))}


def evidence_of(previous: Sequence[Outcome]) -> list[dict[str, Any]]:
    """What earlier ``collect-evidence`` actions stored (their outcome's ``detail.evidence``)."""
    found = []
    for o in previous:
        evidence = o.detail.get("evidence") if o.status is Status.OK else None
        if isinstance(evidence, dict) and isinstance(evidence.get("uri"), str):
            found.append({"target": o.target, **evidence})
    return found


def _evidence_block(evidence: list[dict[str, Any]]) -> dict[str, Any]:
    lines = [one_line(f"{e['uri']} ({e.get('size', '?')} bytes, sha256 "
                      f"{str(e.get('sha256', '?'))[:16]}...)")[:_LINE_MAX] for e in evidence]
    return {"type": "section", "text": _mrkdwn(fit("\n".join(lines), SECTION_TEXT_MAX,
                                                   lambda raw: "*Evidence collected*\n" + "\n".join(
                                                       "\u2022 " + code(x) for x in raw.split("\n"))))}


def _context(alert: Alert) -> dict[str, Any]:
    parts = [("Time", alert.to_dict()["time"]), ("Source", alert.source)]
    if alert.hostname:
        parts.append(("Host", alert.hostname))
    if alert.tags:
        parts.append(("Tags", ", ".join(sorted(alert.tags))))
    if alert.uuid:
        parts.append(("uuid", alert.uuid))
    def element(label: str, value: str) -> dict[str, Any]:
        return _mrkdwn(fit(value, FIELD_TEXT_MAX, lambda t: f"{label}: {code(t)}"))

    elements = [element(k, str(v)) for k, v in parts[:CONTEXT_ELEMENTS_MAX]]
    return {"type": "context", "elements": elements}


def _cap(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(blocks) <= BLOCKS_MAX:
        return blocks
    dropped = len(blocks) - (BLOCKS_MAX - 1)
    note = {"type": "context",
            "elements": [_mrkdwn(f"{TRUNCATED.strip()} {dropped} more blocks not shown")]}
    return blocks[: BLOCKS_MAX - 1] + [note]


def headline(alert: Alert) -> str:
    """Plain words for notifications and fallbacks: "Critical: Terminal shell in container
    (pod default/kubecon)"."""
    where = ""
    if alert.pod_name:
        where = f" (pod {alert.pod_namespace or '?'}/{alert.pod_name})"
    elif alert.node_name:
        where = f" (node {alert.node_name})"
    return one_line(f"{alert.priority.label}: {alert.rule}{where}")


def build(alert: Alert, response: str, previous: Sequence[Outcome],
          mention: str | None, suppressed: int = 0) -> dict[str, Any]:
    """The message body for ``chat.postMessage`` or an incoming webhook (minus ``channel``).

    ``mention`` is operator-configured Slack syntax, the only unescaped text in the message.
    """
    prefix = f"{mention} " if mention else ""
    fallback = prefix + fit(headline(alert), FALLBACK_TEXT_MAX - len(prefix), escape)
    top: list[dict[str, Any]] = [{
        "type": "header",
        "text": {"type": "plain_text", "emoji": True,
                 "text": fit(f"{EMOJI[alert.priority]} {alert.priority.label}: "
                                     f"{one_line(alert.rule)}",
                             HEADER_TEXT_MAX, escape)},
    }]
    if mention:
        top.append({"type": "section",
                    "text": {"type": "mrkdwn",
                             "text": f"{mention} {EMOJI[alert.priority]} "
                                     f"*{alert.priority.label}* alert from Falco"}})

    detail: list[dict[str, Any]] = []
    fields = [_field(label, value) for label, value in alert_fields(alert)]
    for start in range(0, len(fields), FIELDS_PER_SECTION):
        detail.append({"type": "section", "fields": fields[start:start + FIELDS_PER_SECTION]})
    detail.append({"type": "section", "text": _mrkdwn(fit(
        f"Rule: {alert.rule}\n{alert.output}".strip(), SECTION_TEXT_MAX,
        lambda t: "*Alert*\n" + pre(t)))})
    if previous:
        detail.append(_previous_block(response, previous))
        evidence = evidence_of(previous)
        if evidence:
            detail.append(_evidence_block(evidence))
    if suppressed:
        detail.append({"type": "section", "text": _mrkdwn(
            f"*{suppressed:,} similar alerts* (same rule and target) were suppressed by the "
            "cooldown since the last message")})
    detail.append(_context(alert))

    return {
        "text": fallback,
        "blocks": _cap(top),
        "attachments": [{"color": COLOURS[alert.priority], "fallback": fallback,
                         "blocks": _cap(detail)}],
        "unfurl_links": False,
        "unfurl_media": False,
    }
