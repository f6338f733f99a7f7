"""State shared between alerts and between processes: a small :class:`StateStore` Protocol and
its backends, chosen by URL.

- ``memory://``: this process only;
- ``sqlite:///var/lib/falco-response/state.db``: one file, several processes on one host;
- ``dynamodb://table-name?region=eu-west-1``: many hosts and Lambda (``&endpoint_url=`` too).

The config names the store in ``settings.store``; the Lambda handler's
``FALCO_RESPONSE_STORE`` overrides it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from .base import StateStore, StoreError

__all__ = ["StateStore", "StoreError", "open_store"]


def open_store(url_or_settings: Any) -> StateStore:
    """Open the store a URL names, or the one ``settings.store`` names (memory when unset).

    Raises ``ValueError`` for a URL it does not understand and :class:`StoreError` when the
    backend cannot be opened.
    """
    url = url_or_settings
    if not isinstance(url, str):
        url = getattr(url_or_settings, "store", None) or "memory://"
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    scheme = parts.scheme.lower()
    if scheme == "memory":
        from .memory import MemoryStore

        return MemoryStore()
    if scheme == "sqlite":
        path = parts.netloc + parts.path
        if not path:
            raise ValueError(f"store URL {url!r} names no file: use sqlite:///path/to/state.db")
        from .sqlite import SQLiteStore

        return SQLiteStore(path)
    if scheme == "dynamodb":
        if not parts.netloc:
            raise ValueError(f"store URL {url!r} names no table: use dynamodb://table-name")
        unknown = set(query) - {"region", "endpoint_url"}
        if unknown:
            raise ValueError(f"store URL {url!r}: unknown option(s) {', '.join(sorted(unknown))} "
                             "(known: region, endpoint_url)")
        from .dynamodb import DynamoDBStore

        return DynamoDBStore(parts.netloc, region=query.get("region"),
                             endpoint_url=query.get("endpoint_url"))
    raise ValueError(f"store URL {url!r}: unknown scheme (use memory://, sqlite:///path or "
                     "dynamodb://table)")
