"""Structured logging setup for the command line and the Lambda handler.

Library users configure structlog themselves; the engine only emits events.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, BinaryIO, TextIO

import msgspec
import structlog

_encoder = msgspec.json.Encoder(enc_hook=str)


def _serialize(event: Any, **_: Any) -> bytes:
    return _encoder.encode(event)

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}


def _processors() -> list[Any]:
    return [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.JSONRenderer(serializer=_serialize),
    ]


def _binary(stream: TextIO | BinaryIO | None) -> BinaryIO:
    target: Any = stream if stream is not None else sys.stderr
    return target.buffer if hasattr(target, "buffer") else target  # type: ignore[no-any-return]


def configure_logging(level: str = "info", stream: TextIO | BinaryIO | None = None) -> None:
    """JSON lines on stderr (or ``stream``); events below ``level`` cost almost nothing."""
    structlog.configure(
        processors=_processors(),
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level.lower()]),
        logger_factory=structlog.BytesLoggerFactory(_binary(stream)),
        cache_logger_on_first_use=True,
    )


def make_logger(level: str = "info", stream: TextIO | BinaryIO | None = None) -> Any:
    """A logger configured as :func:`configure_logging` would, without touching structlog's
    global configuration (several engines with their own levels in one process)."""
    return structlog.wrap_logger(
        structlog.BytesLogger(_binary(stream)), processors=_processors(),
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level.lower()]))
