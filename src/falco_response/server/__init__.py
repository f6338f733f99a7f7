"""The container service: an authenticated HTTP receiver in front of a durable queue.

Needs the ``server`` extra (starlette, uvicorn, prometheus-client, cryptography). Nothing
here is imported by the core; ``falco-response serve`` imports it on use. The names below
load on first use, so the action process (:mod:`.action_process`), which needs none of the
web stack, does not pay for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import DEFAULT_BODY_LIMIT as DEFAULT_BODY_LIMIT
    from .app import Receiver as Receiver
    from .app import ServerOptions as ServerOptions
    from .app import build_receiver as build_receiver
    from .auth import TokenChecker as TokenChecker
    from .auth import load_tokens as load_tokens
    from .metrics import Metrics as Metrics
    from .queue import DurableQueue as DurableQueue
    from .queue import QueueClosed as QueueClosed
    from .queue import QueueFull as QueueFull
    from .sns import SnsClient as SnsClient
    from .sns import SnsVerifier as SnsVerifier

_WHERE = {
    "DEFAULT_BODY_LIMIT": "app", "Receiver": "app", "ServerOptions": "app",
    "build_receiver": "app", "TokenChecker": "auth", "load_tokens": "auth",
    "Metrics": "metrics", "DurableQueue": "queue", "QueueClosed": "queue",
    "QueueFull": "queue", "SnsClient": "sns", "SnsVerifier": "sns",
}

__all__ = [
    "DEFAULT_BODY_LIMIT", "DurableQueue", "Metrics", "QueueClosed", "QueueFull", "Receiver",
    "ServerOptions", "SnsClient", "SnsVerifier", "TokenChecker", "build_receiver",
    "load_tokens",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
