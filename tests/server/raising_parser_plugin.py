"""A test plugin whose parser raises an arbitrary exception for messages with ``"explode"``:
a third-party parser's bug, which intake must answer with a 400, never a 500."""

from __future__ import annotations

from typing import Any

from falco_response import hookimpl


@hookimpl
def parse_alert(payload: Any) -> None:
    if isinstance(payload, dict) and "explode" in payload:
        raise KeyError("a bug in a parser plugin")
    return None
