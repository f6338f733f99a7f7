"""The container service: an authenticated HTTP receiver in front of a durable queue.

Needs the ``server`` extra (starlette, uvicorn, prometheus-client, cryptography). Nothing
here is imported by the core; ``falco-response serve`` imports it on use.
"""

from __future__ import annotations

from .app import DEFAULT_BODY_LIMIT, Receiver, ServerOptions, build_receiver
from .auth import TokenChecker, load_tokens
from .metrics import Metrics
from .queue import DurableQueue, QueueClosed, QueueFull
from .sns import SnsClient, SnsVerifier

__all__ = [
    "DEFAULT_BODY_LIMIT", "DurableQueue", "Metrics", "QueueClosed", "QueueFull", "Receiver",
    "ServerOptions", "SnsClient", "SnsVerifier", "TokenChecker", "build_receiver",
    "load_tokens",
]
