"""State shared between alerts and between processes: a small :class:`StateStore` Protocol and
its backends, chosen by URL.

- ``memory://``: this process only;
- ``sqlite:///var/lib/falco-response/state.db``: one file, several processes on one host
  (``?timeout=SECONDS``: how long a call waits for another process's lock, default 10);
- ``dynamodb://table-name?region=eu-west-1``: many hosts and Lambda (``&endpoint_url=`` too);
- ``redis://host:6379/0`` / ``rediss://`` (TLS): replicas in a cluster (Redis or Valkey).

The config names the store in ``settings.store``; the Lambda handler's
``FALCO_RESPONSE_STORE`` overrides it.
"""

from __future__ import annotations

from typing import Any
from typing import NamedTuple

from .base import NoSuchStore, StateStore, StoreError, UnavailableStore

__all__ = ["NoSuchStore", "StateStore", "StoreError", "UnavailableStore", "open_store"]


class _URL(NamedTuple):
    scheme: str
    netloc: str
    path: str
    query: dict[str, str]


def _split(url: str) -> _URL:
    """``scheme://netloc/path?k=v&k=v``. Not urllib.parse: it and the ipaddress module it
    pulls in cost a Lambda cold start several milliseconds, for three fixed URL shapes."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return _URL("", "", url, {})
    rest, _, raw_query = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    query: dict[str, str] = {}
    if raw_query:
        from urllib.parse import unquote

        for pair in raw_query.split("&"):
            key, _, value = pair.partition("=")
            if key:
                query[unquote(key)] = unquote(value)
    return _URL(scheme.lower(), netloc, slash + path, query)


def open_store(url_or_settings: Any, *, read_only: bool = False) -> StateStore:
    """Open the store a URL names, or the one ``settings.store`` names (memory when unset).

    Raises ``ValueError`` for a URL it does not understand and :class:`StoreError` when the
    backend cannot be opened. ``read_only`` (commands that only read, like ``audit``) never
    creates anything: a SQLite file that does not exist is ``StoreError("no such store ...")``.
    """
    url = url_or_settings
    if not isinstance(url, str):
        url = getattr(url_or_settings, "store", None) or "memory://"
    parts = _split(url)
    query = parts.query
    scheme = parts.scheme
    if scheme == "memory":
        from .memory import MemoryStore

        return MemoryStore()
    if scheme == "sqlite":
        path = parts.netloc + parts.path
        if not path:
            raise ValueError(f"store URL {url!r} names no file: use sqlite:///path/to/state.db")
        unknown = set(query) - {"timeout"}
        if unknown:
            raise ValueError(f"store URL {url!r}: unknown option(s) {', '.join(sorted(unknown))} "
                             "(known: timeout)")
        from .sqlite import SQLiteStore

        try:
            timeout = float(query.get("timeout", 10.0))
        except ValueError:
            raise ValueError(f"store URL {url!r}: timeout must be a number of seconds") from None
        return SQLiteStore(path, timeout=timeout, read_only=read_only)
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
    if scheme in ("redis", "rediss"):
        from .redis import RedisStore

        return RedisStore(url)
    raise ValueError(f"store URL {url!r}: unknown scheme (use memory://, sqlite:///path, "
                     "dynamodb://table or redis://host)")
