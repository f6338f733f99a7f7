"""The one place a payload becomes alerts: :func:`read_payload`.

A payload is what arrives: the body of ``POST /`` or ``/sns``, an SQS or NATS message, a
Lambda event (one message, or a batch with ``Records``), or a dict in library use. Each
message in it becomes an :class:`~falco_response.alert.Alert` or a :class:`ParseFailure`
(why it could not be read), with its message id when the batch gives one. ``Engine.handle``,
the HTTP intake of ``serve``, the Lambda handler and ``consume`` all call this, so they accept
and refuse the same payloads with the same texts.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

import msgspec

from .alert import Alert
from .errors import ParseError
from .parsing import decode, fast_alert, nesting_error, split_batch

_MAX_REASON = 500

FailureKind = Literal["bad_json", "not_alert", "empty_batch", "parser_raised"]


class ParseFailure(msgspec.Struct, frozen=True):
    """Why one message could not be read.

    ``kind``: ``bad_json`` (not JSON, or nested too deep), ``not_alert`` (JSON, but no
    parser recognised an alert), ``empty_batch`` (a batch with no records) or
    ``parser_raised`` (a plugin's parser raised something other than ``ParseError``;
    ``exception`` names its type, which is all the HTTP intake repeats to a sender)."""

    error: str
    kind: FailureKind = "not_alert"
    exception: str | None = None


Parsed = tuple["str | None", "Alert | ParseFailure"]
"""``(message_id, alert or failure)``: one message of a payload."""


class Parsers(Protocol):
    """What reading needs of the plugins: their ``parse_alert`` hook (first result wins),
    and whether the built-in parser is the only one (then a plain Falco alert takes one
    typed decode)."""

    only_builtin_parser: bool

    def parse_alert(self, payload: Any) -> Alert | None: ...


def read_payload(parsers: Parsers, payload: Any) -> list[Parsed]:
    """Every message in ``payload``, in order, as an alert or a failure. Never raises.

    Text that is not a JSON object is still offered to the parsers as it is (a plugin may
    know it); a batch (``Records``) gives one entry per record, with its message id."""
    if isinstance(payload, (bytes, bytearray, memoryview)):
        payload = bytes(payload)
    if isinstance(payload, (str, bytes)):
        if parsers.only_builtin_parser:
            try:
                alert = fast_alert(payload)
            except RecursionError:
                return [(None, ParseFailure(str(nesting_error()), "bad_json"))]
            if alert is not None:
                return [(None, alert)]
        kind: FailureKind = "not_alert"
        try:
            decoded = decode(payload)
            error = "message must be a JSON object"
        except ParseError as exc:
            decoded, error, kind = None, str(exc), "bad_json"
        if not isinstance(decoded, dict):
            # Not a JSON object: a plugin's parser may still know the raw text.
            raw = _parse(parsers, payload)
            if isinstance(raw, Alert):
                return [(None, raw)]
            if raw is not None and (kind != "bad_json" or raw.kind == "parser_raised"):
                return [(None, raw)]
            return [(None, ParseFailure(error, kind))]
        payload = decoded
    if not (isinstance(payload, dict) and "Records" in payload):
        return [(None, _parse(parsers, payload) or ParseFailure(
            "no parser recognised the message"))]
    if not payload["Records"]:
        return [(None, ParseFailure("the payload holds no alert (an empty batch)",
                                    "empty_batch"))]
    return [(message_id, _parse(parsers, message) or ParseFailure(
        "no parser recognised the message")) for message_id, message in split_batch(payload)]


def _parse(parsers: Parsers, message: Any) -> Alert | ParseFailure | None:
    try:
        return parsers.parse_alert(message)
    except ParseError as exc:
        return ParseFailure(str(exc))
    except RecursionError:
        return ParseFailure(str(nesting_error()), "bad_json")
    except Exception as exc:  # a third-party parser's bug must not take the process down
        return ParseFailure(f"parser failed: {type(exc).__name__}: {exc}"[:_MAX_REASON],
                            "parser_raised", type(exc).__name__)
