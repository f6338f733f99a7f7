"""A refused request: the status, the metric label and the reason the client is told."""

from __future__ import annotations


class Refused(Exception):
    """A request we answer with an error status; ``reason`` is the metric label."""

    def __init__(self, status: int, reason: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.headers = headers or {}


def single_authorization(values: list[str]) -> str | None:
    """The one Authorization header, or 400: with two, which one a proxy, a log or this
    server reads differs, so a request carrying more than one is refused outright."""
    if len(values) > 1:
        raise Refused(400, "duplicate_header", "more than one Authorization header")
    return values[0] if values else None
