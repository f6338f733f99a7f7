"""At-most-once actions over at-least-once delivery (SNS and SQS both redeliver).

Before an alert's actions run, the handler claims a key in the state store: the alert's
``uuid`` (falcosidekick sets one, and it survives SNS's duplicate deliveries into several SQS
messages), else the SNS ``MessageId`` of the envelope the alert came in (falcosidekick's
default attribute publish has no uuid; SNS keeps the MessageId when it delivers one
notification twice, into two SQS messages with different ids), else the message id (SQS
``messageId``, EventBridge ``id``, or the Lambda request id, which an async retry keeps). A second claim of a live key drops the alert
as a duplicate. When an action fails the claim is released, so SQS's redelivery (or Lambda's
async retry) runs the alert again. Keys carry a namespace (the function's name by default), so
functions that share one table do not suppress each other.

The claim is a ``filter_alert`` hook, registered ``trylast``: an alert another plugin drops is
never claimed, and ``Engine.handle`` stays the one path every alert takes.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Union

import msgspec

from ..alert import Alert
from ..hookspecs import hookimpl
from ..outcome import Result
from ..state import StateStore

DEFAULT_TTL_SECONDS = 24 * 3600.0


class Delivery(msgspec.Struct):
    """One message being handled: its id, its SNS ``MessageId`` when it is an SNS
    notification, and the keys claimed for it."""

    message_id: str | None
    claimed: list[str] = []
    sns_message_id: str | None = None


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


class Idempotency:
    """The claim/release logic, as a plugin object (register it with the engine)."""

    def __init__(self, namespace: str, ttl_seconds: float = DEFAULT_TTL_SECONDS,
                 store: StateStore | None = None, log: Any = None) -> None:
        self.namespace = namespace
        self.ttl_seconds = ttl_seconds
        self.store = store
        self.log = log
        self._current: contextvars.ContextVar[Delivery | None] = contextvars.ContextVar(
            "falco_response_delivery", default=None)

    def key(self, alert: Alert, message_id: str | None,
            sns_id: str | None = None) -> str | None:
        if alert.uuid:
            return f"{self.namespace}:uuid:{alert.uuid[:200]}"
        if sns_id:
            return f"{self.namespace}:sns:{sns_id[:200]}"
        if message_id:
            return f"{self.namespace}:msg:{message_id[:200]}"
        return None

    @contextmanager
    def delivery(self, message_id: str | None, message: Any = None) -> Iterator[Delivery]:
        """Handle ``message`` (for its SNS ``MessageId``) under this delivery's claims."""
        current = Delivery(message_id, sns_message_id=sns_message_id(message))
        token = self._current.set(current)
        try:
            yield current
        finally:
            self._current.reset(token)

    @hookimpl(trylast=True)
    def filter_alert(self, alert: Alert) -> str | None:
        current = self._current.get()
        if current is None or self.store is None:
            return None
        key = self.key(alert, current.message_id, current.sns_message_id)
        if key is None:
            return None
        try:
            claimed = self.store.claim(key, self.ttl_seconds)
        except Exception as exc:
            # No claim to be had: handle it anyway (destructive actions then fail closed on the
            # same store, notifications go out, and the failure redrives the message).
            if self.log is not None:
                self.log.error("idempotency claim failed: handling without it", key=key,
                               error=f"{type(exc).__name__}: {exc}"[:300])
            return None
        if claimed:
            current.claimed.append(key)
            return None
        what = ("alert uuid" if alert.uuid else
                "SNS MessageId" if current.sns_message_id else "message id")
        return f"duplicate delivery: this {what} was already handled"

    def settle(self, current: Delivery, results: Sequence[Result]) -> None:
        """Release the claims of a delivery whose handling failed, so a retry acts again."""
        if self.store is None or not current.claimed or all(r.ok for r in results):
            return
        for key in current.claimed:
            try:
                self.store.release(key)
            except Exception as exc:  # the claim then expires with its TTL
                if self.log is not None:
                    self.log.error("could not release idempotency claim", key=key,
                                   error=f"{type(exc).__name__}: {exc}"[:300])
