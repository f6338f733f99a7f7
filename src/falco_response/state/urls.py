"""Store URLs checked at load, for every scheme, without opening anything: ``falco-response
check`` and start-up report an unknown scheme, a malformed URL or a missing extra as a config
problem at ``settings.store`` instead of a ``ValueError`` on the first alert."""

from __future__ import annotations

import importlib.util

SCHEMES = ("memory", "sqlite", "dynamodb", "redis", "rediss")
EXTRAS = {"dynamodb": ("boto3", "aws"), "redis": ("redis", "redis"), "rediss": ("redis", "redis")}
"""scheme -> (module the backend imports, the extra that installs it)."""


def check_store_url(url: str) -> str | None:
    """What is wrong with ``url`` as a store URL, or None."""
    from . import _split

    if "://" not in url:
        return f"not a store URL (use {', '.join(s + '://' for s in SCHEMES)})"
    parts = _split(url)
    if parts.scheme not in SCHEMES:
        return (f"unknown scheme {parts.scheme + '://'!r} "
                f"(use {', '.join(s + '://' for s in SCHEMES)})")
    if parts.scheme == "memory":
        if parts.netloc or parts.path or parts.query:
            return "memory:// takes no host, path or options"
    elif parts.scheme == "sqlite":
        if not parts.netloc + parts.path:
            return "names no file: use sqlite:///path/to/state.db"
    elif parts.scheme == "dynamodb":
        if not parts.netloc:
            return "names no table: use dynamodb://table-name"
        unknown = set(parts.query) - {"region", "endpoint_url"}
        if unknown:
            return (f"unknown option(s) {', '.join(sorted(unknown))} "
                    "(known: region, endpoint_url)")
    else:
        from .redis import check_url

        problem = check_url(url)
        if problem is not None:
            return problem
    extra = EXTRAS.get(parts.scheme)
    if extra is not None and importlib.util.find_spec(extra[0]) is None:
        return (f"{parts.scheme}:// needs the {extra[0]!r} package: "
                f"pip install 'falco-response[{extra[1]}]'")
    return None
