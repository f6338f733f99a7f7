"""What a row of the durable queue holds: the alerts intake read from one request.

Intake reads a payload once (:func:`falco_response.reading.read_payload`) and queues its
alerts, normalized: ``alerts/1 `` followed by the JSON of ``[[message_id, alert], ...]``
(msgspec, the :class:`~falco_response.alert.Alert` struct's own fields). The runners decode
that and hand the alerts to the engine (``Engine.handle_alerts``); nothing is parsed twice.

The prefix cannot begin JSON, so a row written by an older version (the raw request body, as
it was queued before 0.2) is told apart and read through the same ``read_payload``: a queue
left by the old version is drained after an upgrade. Rows stay text, so ``falco-response
dead-letters`` shows them as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType
from typing import Optional

import msgspec

from ..alert import Alert
from ..reading import Parsed, Parsers, read_payload

PREFIX = b"alerts/1 "
_encode = msgspec.json.Encoder(enc_hook=dict).encode  # output_fields is a mappingproxy
_decode = msgspec.json.Decoder(list[tuple[Optional[str], Alert]]).decode


def encode(alerts: Sequence[tuple[str | None, Alert]]) -> bytes:
    """The queue row of ``alerts`` (with their message ids)."""
    return PREFIX + _encode(alerts)


def decode(body: bytes, parsers: Parsers) -> list[Parsed]:
    """The alerts of a queue row: normalized ones as they were queued; an older version's
    raw payload through ``read_payload`` (``parsers`` are only used for those)."""
    if body[:len(PREFIX)] == PREFIX:
        return [(message_id, msgspec.structs.replace(
                    alert, output_fields=MappingProxyType(alert.output_fields)))
                for message_id, alert in _decode(memoryview(body)[len(PREFIX):])]
    return read_payload(parsers, body)


def readable(body: bytes) -> str:
    """A row as a person (or ``jq``) reads it: a normalized row's alert as Falco's JSON (a
    JSON array when the request held several), an older row's payload as it came."""
    if body[:len(PREFIX)] != PREFIX:
        return body.decode("utf-8", "replace")
    try:
        alerts = [alert.to_dict() for _, alert in _decode(memoryview(body)[len(PREFIX):])]
    except msgspec.DecodeError:  # a damaged row: show what is there
        return body.decode("utf-8", "replace")
    return _encode(alerts[0] if len(alerts) == 1 else alerts).decode()
