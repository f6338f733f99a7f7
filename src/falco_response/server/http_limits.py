"""Limits uvicorn does not set: header size and count, a header-read deadline, connections.

uvicorn's httptools protocol buffers a request's head without bound (a single 61 MB header
was held in memory before the 401), accepts any number of headers, waits for ever for a head
sent a byte at a time (slow loris), and takes every connection the kernel hands it. This
subclass of that protocol, used by every ``serve`` listener, answers:

- **431** once the request line and headers pass ``header_bytes`` (counted as they arrive,
  so nothing past the limit is ever buffered) or ``max_headers`` headers, then closes;
- **408** and closes when a head is not complete ``header_timeout`` seconds after the
  connection opened or its first byte arrived (an idle keep-alive connection is uvicorn's
  ``timeout_keep_alive``'s, not this);
- **503** with ``Retry-After`` and closes a connection past ``max_connections`` open on the
  same listener.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


@dataclass(frozen=True)
class HttpLimits:
    header_bytes: int = 64 * 1024
    max_headers: int = 100
    header_timeout: float = 10.0
    max_connections: int = 1024

    def __post_init__(self) -> None:
        if min(self.header_bytes, self.max_headers, self.max_connections) < 1 \
                or self.header_timeout <= 0:
            raise ValueError("header and connection limits must be positive")


class _TooMany(Exception):
    """Raised inside the parser's header callback to stop parsing the request."""


def _reply(status: bytes, text: bytes, extra: bytes = b"") -> bytes:
    body = b'{"error":"' + text + b'"}'
    return (b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n" + extra
            + b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n"
            + body)


def protocol_class(limits: HttpLimits, refused: Callable[[str], None]) -> type[asyncio.Protocol]:
    """The httptools protocol with ``limits``; ``refused(reason)`` counts each refusal."""

    too_large = _reply(b"431 Request Header Fields Too Large",
                       b"request headers are over the %d-byte limit" % limits.header_bytes)
    too_many = _reply(b"431 Request Header Fields Too Large",
                      b"more than %d request headers" % limits.max_headers)
    too_slow = _reply(b"408 Request Timeout",
                      b"request headers not received within %gs" % limits.header_timeout)
    busy = _reply(b"503 Service Unavailable", b"too many connections; retry later",
                  b"retry-after: 1\r\n")

    base = HttpToolsProtocol
    timeout = limits.header_timeout

    class LimitedHttpTools(HttpToolsProtocol):
        _in_head = True
        _head_bytes = 0
        _header_count = 0
        _head_since: float | None = None
        """When the head being read began (the connection opened or its first byte came)."""
        _head_timer: asyncio.TimerHandle | None = None
        """At most one per connection, not one per request: when it fires during a later
        head, it is set again for what that head has left (a keep-alive connection's requests
        set and cancel no timer of their own)."""

        def connection_made(self, transport: Any) -> None:
            base.connection_made(self, transport)
            if len(self.connections) > limits.max_connections:
                self._refuse(busy, "too_many_connections")
                return
            self._head_began()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            base.connection_lost(self, exc)

        def _head_began(self) -> None:
            self._head_since = self.loop.time()
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(timeout, self._check_head)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _check_head(self) -> None:
            self._head_timer = None
            since = self._head_since
            if since is None or self.transport.is_closing():
                return  # between requests: the next head sets the timer again
            left = since + timeout - self.loop.time()
            if left > 0:
                self._head_timer = self.loop.call_later(left, self._check_head)
            else:
                self._refuse(too_slow, "header_limit")

        def _refuse(self, reply: bytes, reason: str) -> None:
            self._disarm()
            refused(reason)
            if not self.transport.is_closing():
                self.transport.write(reply)
                self.transport.close()

        def data_received(self, data: bytes) -> None:
            if self.transport.is_closing() or self.parser is None:
                return
            if not self._in_head:
                self._feed(data)
                return
            if self._head_since is None:
                self._head_began()
            room = limits.header_bytes - self._head_bytes
            part, rest = (data, b"") if len(data) <= room else (data[:room], data[room:])
            self._head_bytes += len(part)
            self._feed(part)
            if rest and not (self.transport.is_closing() or self.parser is None):
                if self._in_head:
                    self._refuse(too_large, "header_limit")
                else:
                    self.data_received(rest)

        def _feed(self, data: bytes) -> None:
            self._unset_keepalive_if_required()
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserUpgrade:
                if self._should_upgrade():
                    self.handle_websocket_upgrade()
                else:
                    self._unsupported_upgrade_warning()
            except httptools.HttpParserError as exc:
                if isinstance(exc.__context__, _TooMany) or self._header_count > \
                        limits.max_headers:
                    self._refuse(too_many, "header_limit")
                    return
                msg = "Invalid HTTP request received."
                self.logger.warning(msg)
                self.send_400_response(msg)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._header_count += 1
            if self._header_count > limits.max_headers:
                raise _TooMany()
            base.on_header(self, name, value)

        def on_headers_complete(self) -> None:
            self._in_head = False
            self._head_since = None
            base.on_headers_complete(self)

        def on_message_complete(self) -> None:
            self._in_head = True
            self._head_bytes = 0
            self._header_count = 0
            base.on_message_complete(self)

    return LimitedHttpTools
