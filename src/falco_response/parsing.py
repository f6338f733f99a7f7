"""Reading messages: JSON decoding, the Falco alert schema, and the envelopes that carry alerts.

A *message* is one thing that may hold one alert: Falco's JSON, falcosidekick's JSON, an SNS
notification, an EventBridge event, an API Gateway / function URL request. A *batch* (a Lambda
event with ``Records``) holds many messages; :func:`split_batch` cuts it up.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, Union

import msgspec

from .alert import Alert, FieldValue, Priority, parse_time
from .alert_keys import fold_alert_keys, has_alert_keys
from .errors import ParseError

MAX_MESSAGE_BYTES = 1024 * 1024
"""Messages larger than this are refused before decoding (a Falco alert is a few KB)."""

MAX_NESTING = 64
"""Messages nested deeper than this (arrays and objects) are refused: a Falco alert is 2 deep,
the deepest envelope we read about 6. Without a bound, ``[[[[...`` 100k deep would exhaust the
decoder's recursion."""

_decoder = msgspec.json.Decoder()
_SCALARS = (str, int, float, bool)
_JSON_STRING = r'"(?:[^"\\]|\\.)*"'  # compiled on first use
_BRACKETS = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def _too_deep(payload: str | bytes) -> bool:
    """True when ``payload`` nests arrays/objects deeper than :data:`MAX_NESTING`.

    Cheap for every real alert: fewer opening brackets than the limit cannot nest deeper, and
    counting is a C loop. Only a message with many brackets is scanned (strings removed, then
    a running depth over what is left)."""
    if isinstance(payload, str):
        opened = payload.count("[") + payload.count("{")
    else:
        opened = payload.count(b"[") + payload.count(b"{")
    if opened <= MAX_NESTING:
        return False
    import re

    if isinstance(payload, bytes):
        payload = payload.decode("utf-8", "replace")
    depth = 0
    for char in re.sub(_JSON_STRING, "", payload):
        step = _BRACKETS.get(ord(char))
        if step is not None:
            depth += step
            if depth > MAX_NESTING:
                return True
    return False


def nesting_error() -> ParseError:
    return ParseError(f"message is nested deeper than {MAX_NESTING} levels")


def decode(payload: str | bytes) -> Any:
    """JSON text to Python objects, with errors that say where and what."""
    size = len(payload)
    if size > MAX_MESSAGE_BYTES:
        raise ParseError(f"message is {size} bytes, over the {MAX_MESSAGE_BYTES}-byte limit")
    if _too_deep(payload):
        raise nesting_error()
    try:
        return _decoder.decode(payload)
    except RecursionError:
        raise nesting_error() from None
    except (msgspec.DecodeError, UnicodeError) as exc:
        if isinstance(payload, str):
            try:
                payload.encode("utf-8")
            except UnicodeEncodeError as bad:
                raise ParseError(f"message holds a lone surrogate (character {bad.start}), "
                                 "not valid Unicode") from None
        if isinstance(payload, bytes):
            try:
                payload.decode("utf-8")
            except UnicodeDecodeError as bad:
                raise ParseError(f"message is not valid UTF-8 (byte {bad.start})") from None
        if not payload.strip():
            raise ParseError("message is empty") from None
        raise ParseError(f"message is not JSON: {exc}") from None


def _text(data: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise ParseError(f"alert has no {key!r}")
        return None
    if not isinstance(value, str):
        raise ParseError(f"alert field {key!r} must be a string, got {type(value).__name__}")
    return value


class _AlertShape(msgspec.Struct):
    """The shape of Falco's alert JSON; unknown keys (falcosidekick adds some) are ignored."""

    rule: str
    priority: str
    time: str
    output: Union[str, None] = None
    output_fields: Union[dict[str, Union[str, int, float, bool, None]], None] = None
    source: Union[str, None] = None
    tags: Union[list[str], None] = None
    hostname: Union[str, None] = None
    uuid: Union[str, None] = None


def alert_from_dict(data: dict[str, Any]) -> Alert:
    """Falco's (or falcosidekick's) alert JSON object to an :class:`Alert`.

    Required: ``rule``, ``priority``, ``time``. Everything else may be missing. The keys may
    be in any case (see :mod:`.alert_keys`).
    Valid alerts take a fast path checked by msgspec; anything it rejects is checked again
    field by field, so the error names the field and the problem.
    """
    data = fold_alert_keys(data)
    try:
        shape = msgspec.convert(data, _AlertShape)
    except msgspec.ValidationError:
        return _require_unicode(_checked_alert(data))
    return _require_unicode(_from_shape(shape))


def _require_unicode(alert: Alert) -> Alert:
    """A dict built in Python (a Lambda event, a plugin) may hold lone surrogates, which
    JSON text cannot: refuse them here rather than fail later in a log line or a reply."""
    fields = alert.output_fields
    texts = [alert.rule, alert.output, alert.source, alert.hostname or "", alert.uuid or "",
             *alert.tags, *fields, *(v for v in fields.values() if isinstance(v, str))]
    joined = "\x00".join(texts)
    if joined.isascii():
        return alert
    try:
        joined.encode("utf-8")
    except UnicodeEncodeError:
        for name in ("rule", "output", "source", "hostname", "uuid"):
            if not _encodable(getattr(alert, name) or ""):
                raise ParseError(f"alert field {name!r} holds a lone surrogate, not valid "
                                 "Unicode") from None
        raise ParseError("alert tags or output fields hold a lone surrogate, not valid "
                         "Unicode") from None
    return alert


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _ExactShape(_AlertShape, forbid_unknown_fields=True):
    """The fast path's shape: Falco's and falcosidekick's keys exactly (and Falco's optional
    ``message``). Any other key (``Rule``, a sender's extra) takes the general path, which
    folds the keys' case and refuses two spellings of one key."""

    message: Union[str, None] = None


_shape_decoder = msgspec.json.Decoder(_ExactShape)


def fast_alert(payload: bytes | str) -> Alert | None:
    """A plain Falco alert straight from JSON text, or None to take the general path
    (envelopes, errors). Saves decoding into dicts for the common case."""
    if len(payload) > MAX_MESSAGE_BYTES:
        return None
    try:
        shape = _shape_decoder.decode(payload)
    except (msgspec.DecodeError, UnicodeError, RecursionError):
        return None
    try:
        return _from_shape(shape)
    except ParseError:
        return None


def _from_shape(shape: _AlertShape) -> Alert:
    if not shape.rule.strip():
        raise ParseError("alert field 'rule' is empty")
    try:
        priority = Priority.parse(shape.priority)
    except ValueError as exc:
        raise ParseError(f"alert field 'priority': {exc}") from None
    try:
        nanos = parse_time(shape.time)
    except ValueError as exc:
        raise ParseError(f"alert field 'time': {exc}") from None
    source = shape.source or "syscall"
    return Alert(
        time_ns=nanos,
        rule=shape.rule,
        priority=priority,
        output=shape.output or "",
        output_fields=MappingProxyType(shape.output_fields or {}),
        source="syscall" if source == "syscalls" else source,
        tags=frozenset(shape.tags) if shape.tags else frozenset(),
        hostname=shape.hostname,
        uuid=shape.uuid,
    )


def _checked_alert(data: dict[str, Any]) -> Alert:
    """The slow path: field by field, so the error says precisely what is wrong."""
    missing = [k for k in ("rule", "priority", "time") if data.get(k) is None]
    if missing:
        raise ParseError("not a Falco alert: missing " + ", ".join(repr(m) for m in missing))
    rule = _text(data, "rule", required=True)
    assert rule is not None
    if not rule.strip():
        raise ParseError("alert field 'rule' is empty")
    try:
        priority = Priority.parse(data["priority"])
    except ValueError as exc:
        raise ParseError(f"alert field 'priority': {exc}") from None
    try:
        nanos = parse_time(data["time"])
    except ValueError as exc:
        raise ParseError(f"alert field 'time': {exc}") from None

    fields = data.get("output_fields")
    if fields is None:
        fields = {}
    elif not isinstance(fields, dict):
        raise ParseError(f"alert field 'output_fields' must be an object, got {type(fields).__name__}")
    else:
        for key, value in fields.items():
            if value is not None and not isinstance(value, _SCALARS):
                raise ParseError(f"output field {key[:80]!r} must be a string, number, boolean or "
                                 f"null, got {type(value).__name__}")

    tags = data.get("tags")
    if tags is None:
        tags = ()
    elif not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ParseError("alert field 'tags' must be a list of strings")

    source = _text(data, "source") or "syscall"
    if source == "syscalls":
        source = "syscall"
    return Alert(
        time_ns=nanos,
        rule=rule,
        priority=priority,
        output=_text(data, "output") or "",
        output_fields=MappingProxyType(fields),
        source=source,
        tags=frozenset(tags),
        hostname=_text(data, "hostname"),
        uuid=_text(data, "uuid"),
    )


def _sns_attributes_alert(sns: dict[str, Any]) -> Alert:
    """falcosidekick's default SNS publish: text ``Message``, the alert in MessageAttributes."""
    attrs = sns.get("MessageAttributes") or {}
    values: dict[str, str] = {}
    for key, attr in attrs.items():
        if isinstance(attr, dict):
            value = attr.get("Value", attr.get("StringValue"))
            if isinstance(value, str):
                values[key] = value
    data: dict[str, Any] = {
        "rule": values.pop("rule", None),
        "priority": values.pop("priority", None),
        "time": values.pop("time", None) or sns.get("Timestamp"),
        "output": sns.get("Message") or "",
        "source": values.pop("source", None),
        "hostname": values.pop("hostname", None),
        "uuid": values.pop("uuid", None),
    }
    tags = values.pop("tags", "")
    data["tags"] = [t for t in tags.split(",") if t]
    data["output_fields"] = {k: v for k, v in values.items() if v != ""}
    return alert_from_dict(data)


def _looks_like_alert(data: dict[str, Any]) -> bool:
    return "rule" in data or "priority" in data or "output_fields" in data


def parse_message(payload: Any, depth: int = 0) -> Alert:
    """One message, in any envelope we know, to an alert. Raises :class:`ParseError`."""
    if depth > 3:
        raise ParseError("message is nested in too many envelopes")
    if isinstance(payload, (str, bytes)):
        payload = decode(payload)
    if not isinstance(payload, dict):
        raise ParseError(f"message must be a JSON object, got {_json_type(payload)}")
    if _looks_like_alert(payload):
        return alert_from_dict(payload)
    if payload.get("Type") == "Notification" and "Message" in payload:
        message = payload["Message"]
        if isinstance(message, str) and message.lstrip().startswith("{"):
            return parse_message(message, depth + 1)
        if payload.get("MessageAttributes"):
            return _sns_attributes_alert(payload)
        raise ParseError("SNS message holds neither alert JSON nor falcosidekick attributes")
    if "detail-type" in payload and "detail" in payload:
        return parse_message(payload["detail"], depth + 1)
    if "body" in payload and ("requestContext" in payload or "headers" in payload):
        body = payload["body"]
        if not isinstance(body, str):
            raise ParseError("HTTP event has no body")
        if payload.get("isBase64Encoded"):
            try:
                body = base64.b64decode(body, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise ParseError("HTTP event body is not valid base64 UTF-8") from None
        return parse_message(body, depth + 1)
    if has_alert_keys(payload):  # {"Rule": ...}: Go's decoders take any case
        return alert_from_dict(payload)
    raise ParseError("not a Falco alert: missing 'rule', 'priority', 'time'")


def _json_type(value: Any) -> str:
    return {list: "array", str: "string", int: "number", float: "number", bool: "boolean",
            type(None): "null"}.get(type(value), type(value).__name__)


def split_batch(payload: Any) -> Iterator[tuple[str | None, Any]]:
    """Yield ``(message_id, message)`` for each message in a Lambda batch, or the payload itself.

    SNS records yield their ``Sns`` object, SQS records their ``body``.
    """
    records = payload.get("Records") if isinstance(payload, dict) else None
    if not isinstance(records, list):  # the common case: one message
        yield None, payload
        return
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            yield f"record-{index}", record
        elif isinstance(record.get("Sns"), dict):
            sns = record["Sns"]
            yield sns.get("MessageId"), sns
        elif "body" in record and "messageId" in record:
            yield record.get("messageId"), _sqs_body(record)
        else:
            yield record.get("messageId") or f"record-{index}", record


def _sqs_body(record: dict[str, Any]) -> Any:
    """An SQS record's message. SNS raw message delivery of falcosidekick's default publish puts
    the output text in the body and the alert in SQS ``messageAttributes``: rebuild the SNS
    notification it came from, so the attribute parser reads it."""
    body, attrs = record["body"], record.get("messageAttributes")
    if not (isinstance(attrs, dict) and "rule" in attrs and isinstance(body, str)
            and not body.lstrip().startswith("{")):
        return body
    sent = (record.get("attributes") or {}).get("SentTimestamp")
    stamp = (datetime.fromtimestamp(int(sent) / 1000, timezone.utc).isoformat()
             if isinstance(sent, str) and sent.isdigit() else None)
    return {"Type": "Notification", "Message": body, "Timestamp": stamp, "MessageAttributes": {
        k: {"Value": a.get("stringValue")} for k, a in attrs.items() if isinstance(a, dict)}}
