"""The ``pagerduty`` action type's parameters, validated once at config load.

``dedup_key`` is a template over a fixed set of named alert attributes (``{rule}``,
``{target}``...), not a template engine: it is split into literal text and names once, and
rendering only pastes values in, so an alert value that looks like ``{rule}`` stays text.
Error messages name the parameter, never the routing key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Literal, Union
from urllib.parse import urlsplit

import msgspec
from falco_response import Alert

ENDPOINTS = {"us": "https://events.pagerduty.com", "eu": "https://events.eu.pagerduty.com"}
DEFAULT_DEDUP_KEY = "{rule}|{target}"
DEDUP_KEY_MAX = 255


class PagerDutyParams(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``with:`` of a ``pagerduty`` action."""

    routing_key: str
    region: Literal["us", "eu"] = "us"
    base_url: Union[str, None] = None
    dedup_key: str = DEFAULT_DEDUP_KEY
    timeout: float = 10.0
    max_attempts: int = 4
    retry_wait: float = 0.5
    ca_bundle: Union[str, None] = None
    client_url: Union[str, None] = None


def target_of(alert: Alert) -> str:
    """What the alert is about, as the engine names targets: the pod, else the container,
    else the node."""
    if alert.pod_name:
        return f"pod:{alert.pod_namespace or '-'}/{alert.pod_name}"
    if alert.container_id and alert.container_id != "host":
        return f"container:{alert.container_id}"
    if alert.node_name:
        return f"node:{alert.node_name}"
    return "unknown"


ATTRIBUTES: dict[str, Callable[[Alert], Union[str, None]]] = {
    "rule": lambda a: a.rule,
    "target": target_of,
    "namespace": lambda a: a.pod_namespace,
    "pod": lambda a: a.pod_name,
    "node": lambda a: a.node_name,
    "container": lambda a: a.container_id,
    "image": lambda a: a.text("container.image.repository"),
    "priority": lambda a: a.priority.label,
    "source": lambda a: a.source,
}

_PART = re.compile(r"\{([A-Za-z_]+)\}|([^{}]+)")


class DedupTemplate:
    """A parsed ``dedup_key``: literal text and attribute names, rendered by concatenation."""

    def __init__(self, text: str) -> None:
        parts: list[tuple[bool, str]] = []
        pos = 0
        while pos < len(text):
            found = _PART.match(text, pos)
            if found is None:
                raise ValueError(f"dedup_key: unexpected {text[pos]!r} at {pos}; use {{name}} "
                                 f"with a name from {', '.join(sorted(ATTRIBUTES))}")
            if found.group(1) is not None:
                if found.group(1) not in ATTRIBUTES:
                    raise ValueError(f"dedup_key: unknown attribute {{{found.group(1)}}}; known: "
                                     f"{', '.join(sorted(ATTRIBUTES))}")
                parts.append((True, found.group(1)))
            else:
                parts.append((False, found.group(2)))
            pos = found.end()
        if not any(is_name for is_name, _ in parts):
            raise ValueError("dedup_key must use at least one attribute, e.g. {rule}|{target}")
        self.parts = tuple(parts)

    def render(self, alert: Alert) -> str:
        out = "".join((ATTRIBUTES[v](alert) or "-") if is_name else v for is_name, v in self.parts)
        if len(out) > DEDUP_KEY_MAX:  # deterministic, so a storm still shares one key
            import hashlib

            digest = hashlib.sha256(out.encode("utf-8", "surrogatepass")).hexdigest()
            keep = DEDUP_KEY_MAX - len("...sha256:") - len(digest)
            out = f"{out[:keep]}...sha256:{digest}"
        return out


def _require_https(url: str, name: str) -> None:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"{name} must be an https:// URL")


def validate(params: PagerDutyParams) -> tuple[str, DedupTemplate]:
    """Raise ``ValueError`` for bad settings; return the endpoint and the dedup template."""
    if not params.routing_key.strip():
        raise ValueError("routing_key is empty")
    if params.base_url is not None:
        _require_https(params.base_url, "base_url")
    if params.client_url is not None:
        _require_https(params.client_url, "client_url")
    if not 0 < params.timeout <= 300:
        raise ValueError("timeout must be between 0 and 300 seconds")
    if not 1 <= params.max_attempts <= 20:
        raise ValueError("max_attempts must be between 1 and 20")
    if not 0 <= params.retry_wait <= 60:
        raise ValueError("retry_wait must be between 0 and 60 seconds")
    if params.ca_bundle is not None and not os.path.isfile(params.ca_bundle):
        raise ValueError(f"ca_bundle {params.ca_bundle!r} is not a file")
    endpoint = (params.base_url or ENDPOINTS[params.region]).rstrip("/")
    return endpoint, DedupTemplate(params.dedup_key)
