"""What the ``via`` action is asked to post: a request, its update, or a short reply.

The slack plugin renders these (``falco_response_slack.approval``); every text here that came
from an alert (target, planned call) is escaped there like any other alert text.
"""

from __future__ import annotations

from typing import Optional

import msgspec


class Notice(msgspec.Struct, frozen=True, kw_only=True):
    """``kind``: ``request`` (post it, with Approve/Deny buttons), ``update`` (replace the
    posted request with the decision and the outcome) or ``reply`` (``text`` for the clicker
    alone, e.g. "already decided by ...")."""

    kind: str
    approval_id: str
    action: str
    action_type: str
    target: Optional[str]
    planned: str
    approvers: tuple[str, ...]
    expires_at: float
    timeout_label: str
    on_timeout: str
    fingerprint: str
    decision: Optional[str] = None
    """``approved``, ``denied``, ``expired`` or ``proceeded`` (a timeout under ``proceed``)."""
    decided_by: Optional[str] = None
    outcome_status: Optional[str] = None
    outcome_reason: Optional[str] = None
    text: Optional[str] = None
    response_url: Optional[str] = None
    channel: Optional[str] = None
    ts: Optional[str] = None


APPROVE_ACTION = "falco-response-approve"
DENY_ACTION = "falco-response-deny"
