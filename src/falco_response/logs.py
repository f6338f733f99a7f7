"""Structured logging setup for the command line and the Lambda handler.

Library users configure structlog themselves; the engine only emits events.
"""

from __future__ import annotations

import logging
import sys
from typing import IO

import structlog

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}


def configure_logging(level: str = "info", stream: IO[str] | None = None) -> None:
    """JSON lines on stderr (or ``stream``); events below ``level`` cost almost nothing."""
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level.lower()]),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=True,
    )
