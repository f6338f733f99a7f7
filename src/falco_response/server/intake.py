"""``POST /`` as a plain ASGI app inside the Starlette router: the path every alert takes,
kept lean (no Request object, headers read once from the scope, the body read from
``receive`` with the limit checked chunk by chunk)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import msgspec

from ..alert import Alert
from .refusal import Refused, single_authorization

_encode = msgspec.json.Encoder().encode
_WANTED = frozenset({b"authorization", b"content-type", b"content-length", b"user-agent"})


class Gate(Protocol):
    """What the endpoint needs of the receiver (:class:`~.app.Receiver`)."""

    @property
    def body_limit(self) -> int: ...

    def too_large(self) -> Refused: ...

    def check_token(self, header: str | None, user_agent: str | None = None) -> None: ...

    def check_media_type(self, content_type: str, allowed: tuple[str, ...]) -> None: ...

    def parse(self, payload: bytes) -> list[tuple[str | None, Alert]]: ...

    async def enqueue(self, alerts: list[tuple[str | None, Alert]]) -> int: ...

    def refuse(self, exc: Refused) -> Any: ...


async def read_limited(receive: Callable[[], Awaitable[Any]], declared: str | None, limit: int,
                       too_large: Callable[[], Refused]) -> bytes:
    """A request body read from ASGI ``receive``, refused (``too_large()``) as soon as it
    passes ``limit`` bytes, or at once when its declared length does."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large()
    chunks = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Refused(400, "bad_json", "the client went away mid-body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large()
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


class AlertEndpoint:
    """Authenticate (when ``check_tokens``), check the type and size, parse with the
    engine's parsers, commit to the queue, answer 202; or refuse with the reason."""

    def __init__(self, receiver: Gate, *, check_tokens: bool) -> None:
        self.receiver = receiver
        self.check_tokens = check_tokens

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        receiver = self.receiver
        headers = {}
        authorizations = []
        for key, value in scope["headers"]:
            if key in _WANTED:
                headers[key] = value
                if key == b"authorization":
                    authorizations.append(value.decode("latin-1"))
        try:
            single_authorization(authorizations)
            if self.check_tokens:
                receiver.check_token(_text(headers.get(b"authorization")),
                                     _text(headers.get(b"user-agent")))
            receiver.check_media_type(_text(headers.get(b"content-type")) or "",
                                      ("application/json",))
            body = await read_limited(receive, _text(headers.get(b"content-length")),
                                      receiver.body_limit, receiver.too_large)
            item_id = await receiver.enqueue(receiver.parse(body))
        except Refused as exc:
            await receiver.refuse(exc)(scope, receive, send)
            return
        payload = _encode({"queued": item_id})
        await send({"type": "http.response.start", "status": 202, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")
