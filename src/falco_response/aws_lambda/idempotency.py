"""At-most-once actions over at-least-once delivery (SNS and SQS both redeliver).

Before an alert's actions run, the engine claims a key in the state store: the alert's
``uuid`` (falcosidekick sets one, and it survives SNS's duplicate deliveries into several SQS
messages), else the SNS ``MessageId`` of the envelope the alert came in (falcosidekick's
default attribute publish has no uuid; SNS keeps the MessageId when it delivers one
notification twice, into two SQS messages with different ids), else the message id (SQS
``messageId``, EventBridge ``id``, or the Lambda request id, which an async retry keeps). A second claim of a live key drops the alert
as a duplicate. When an action fails the claim is released, so SQS's redelivery (or Lambda's
async retry) runs the alert again. Keys carry a namespace (the function's name by default), so
functions that share one table do not suppress each other.

The claim is made by the engine (``Engine(..., idempotency=Idempotency(...))``) after every
``filter_alert`` plugin kept the alert, so an alert another plugin drops is never claimed, and
``Engine.handle`` stays the one path every alert takes. The message's ids reach it as the
handling call's :class:`~falco_response.delivery.Delivery` argument, never beside the call.
"""

from __future__ import annotations

from typing import Any, Union

import msgspec

from ..alert import Alert
from ..delivery import Claim, Delivery
from ..state import StateStore

DEFAULT_TTL_SECONDS = 24 * 3600.0
_KEPT = Claim()


class _SnsEnvelope(msgspec.Struct):
    Type: Union[str, None] = None
    MessageId: Union[str, None] = None


_envelope = msgspec.json.Decoder(_SnsEnvelope)


def sns_message_id(message: Any) -> str | None:
    """The SNS ``MessageId`` of a message that is an SNS notification: an SNS record's ``Sns``
    object, or an SQS body holding SNS's JSON envelope (raw delivery keeps no MessageId)."""
    if isinstance(message, dict):
        kind, found = message.get("Type"), message.get("MessageId")
    elif isinstance(message, (str, bytes)) and message.lstrip()[:1] in ("{", b"{"):
        try:
            envelope = _envelope.decode(message)
        except (msgspec.DecodeError, UnicodeDecodeError):
            return None
        kind, found = envelope.Type, envelope.MessageId
    else:
        return None
    return found if kind == "Notification" and isinstance(found, str) and found else None


def delivery_of(message: Any, message_id: str | None) -> Delivery:
    """The :class:`Delivery` of one message of a Lambda event: its id, and its SNS
    ``MessageId`` when it is an SNS notification."""
    return Delivery(message_id, sns_message_id(message))


class Idempotency:
    """The claim/release logic: the engine's ``idempotency`` collaborator
    (:class:`~falco_response.delivery.Claims`)."""

    def __init__(self, namespace: str, ttl_seconds: float = DEFAULT_TTL_SECONDS, *,
                 log: Any) -> None:
        self.namespace = namespace
        self.ttl_seconds = ttl_seconds
        self.log = log

    def key(self, alert: Alert, delivery: Delivery | None) -> str | None:
        if alert.uuid:
            return f"{self.namespace}:uuid:{alert.uuid[:200]}"
        if delivery is not None and delivery.sns_message_id:
            return f"{self.namespace}:sns:{delivery.sns_message_id[:200]}"
        if delivery is not None and delivery.message_id:
            return f"{self.namespace}:msg:{delivery.message_id[:200]}"
        return None

    def claim(self, store: StateStore, alert: Alert, delivery: Delivery | None) -> Claim:
        key = self.key(alert, delivery)
        if key is None:
            return _KEPT
        try:
            claimed = store.claim(key, self.ttl_seconds)
        except Exception as exc:
            # No claim to be had: handle it anyway (destructive actions then fail closed on the
            # same store, notifications go out, and the failure redrives the message).
            self.log.error("idempotency claim failed: handling without it", key=key,
                           error=f"{type(exc).__name__}: {exc}"[:300])
            return _KEPT
        if claimed:
            return Claim(key=key)
        what = ("alert uuid" if alert.uuid else
                "SNS MessageId" if delivery is not None and delivery.sns_message_id
                else "message id")
        return Claim(duplicate=f"duplicate delivery: this {what} was already handled")

    def release(self, store: StateStore, key: str) -> None:
        """Release the claim of an alert whose handling failed, so a retry acts again."""
        try:
            store.release(key)
        except Exception as exc:  # the claim then expires with its TTL
            self.log.error("could not release idempotency claim", key=key,
                           error=f"{type(exc).__name__}: {exc}"[:300])
