"""How a message arrived, given to the engine with it: what at-most-once handling keys on.

A transport that redelivers (SQS, SNS, Lambda's async retries) names each message; the caller
passes that as a :class:`Delivery` to ``Engine.handle`` (or ``handle_alerts`` /
``handle_alert``), and the engine's idempotency collaborator (:class:`Claims`, given at
construction) claims a key made from it before the alert's actions run. Nothing travels
beside the call (no context variable): what the engine acts on is in its arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import msgspec

if TYPE_CHECKING:
    from .alert import Alert
    from .state import StateStore


class Delivery(msgspec.Struct, frozen=True):
    """One message's ids: ``message_id`` (SQS ``messageId``, EventBridge ``id``, the Lambda
    request id, a batch record's id) and, for an SNS notification, its ``MessageId`` (which
    SNS keeps when it delivers one notification twice)."""

    message_id: str | None = None
    sns_message_id: str | None = None


class Claim(msgspec.Struct, frozen=True):
    """What claiming an alert's delivery gave: the key now held (released when the alert's
    handling fails, so a retry acts), or why the alert is dropped (a duplicate)."""

    key: str | None = None
    duplicate: str | None = None


class Claims(Protocol):
    """The engine's idempotency collaborator
    (:class:`~falco_response.aws_lambda.idempotency.Idempotency`). It is called after every
    ``filter_alert`` plugin kept the alert (an alert another plugin drops is never claimed),
    with the engine's own state store."""

    def claim(self, store: StateStore, alert: Alert, delivery: Delivery | None) -> Claim:
        """Claim ``alert`` as delivered by ``delivery``; never raises (a store failure is
        logged and the alert handled without a claim)."""

    def release(self, store: StateStore, key: str) -> None:
        """Give back ``key`` (the alert's handling failed); never raises."""
