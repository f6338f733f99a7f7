"""``approval:`` compiled: who decides, through which Slack action, and for how long.

Kept free of imports beyond the schema: the config loader builds these for every config.
"""

from __future__ import annotations

import re

import msgspec

from ..schema import ApprovalSpec, parse_duration

MIN_TIMEOUT = 60.0
MAX_TIMEOUT = 86400.0
VIA_TYPE = "slack"
_APPROVER = re.compile(r"^[UW][A-Z0-9]{2,20}$")


class ApprovalRule(msgspec.Struct, frozen=True):
    via: str
    approvers: tuple[str, ...]
    timeout: float
    on_timeout: str
    label: str


def compile_approval(spec: ApprovalSpec, via_types: dict[str, str]) -> ApprovalRule:
    """Check an ``approval:`` block; ``ValueError(path suffix, reason)`` for the first fault.

    ``via_types`` maps each named action to its type: ``via`` must name a ``slack`` one.
    """
    if spec.via not in via_types:
        raise ValueError("via", f"no action named {spec.via!r} in 'actions' (via names the "
                         "slack action that posts the request)")
    if via_types[spec.via] != VIA_TYPE:
        raise ValueError("via", f"action {spec.via!r} is of type {via_types[spec.via]!r}: "
                         "via must name a slack action")
    if not spec.approvers:
        raise ValueError("approvers", "list at least one Slack user id (e.g. U024BE7LH)")
    for i, approver in enumerate(spec.approvers):
        if not _APPROVER.match(approver):
            hint = (" (user groups are not supported: list their members' user ids)"
                    if approver.startswith(("S", "<!subteam")) else "")
            raise ValueError(f"approvers[{i}]", f"{approver[:40]!r} is not a Slack user id "
                             f"like U024BE7LH{hint}")
    try:
        seconds = parse_duration(spec.timeout)
    except ValueError as exc:
        raise ValueError("timeout", str(exc)) from None
    if not MIN_TIMEOUT <= seconds <= MAX_TIMEOUT:
        raise ValueError("timeout", "must be between 1m and 24h")
    from ..safety import human

    return ApprovalRule(spec.via, tuple(dict.fromkeys(spec.approvers)), seconds,
                        spec.on_timeout, human(seconds))
