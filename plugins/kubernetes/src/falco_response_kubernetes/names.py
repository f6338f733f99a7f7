"""Checks on names taken from alerts, before any of them reaches a URL.

Alert fields are attacker-influenced: a pod name like ``x/../../kube-system/pods/y`` must be
rejected, not percent-encoded into some other request. Kubernetes names are DNS-1123 labels
(namespaces) or subdomains (pods, nodes); container ids are hex. Every check is a full match
on the exact string: ``re.fullmatch``, never ``$`` (which also matches before a final newline,
so ``"kube-system\\n"`` would pass and reach a URL as ``kube-system%0A``).
"""

from __future__ import annotations

import re

_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_CONTAINER_ID = re.compile(r"[0-9a-f]{12,64}")


def is_dns_label(text: str) -> bool:
    return len(text) <= 63 and _LABEL.fullmatch(text) is not None


def is_dns_subdomain(text: str) -> bool:
    return len(text) <= 253 and _SUBDOMAIN.fullmatch(text) is not None


def is_container_id(text: str) -> bool:
    return _CONTAINER_ID.fullmatch(text) is not None


def shown(text: str, limit: int = 80) -> str:
    """An alert value quoted for a reason string, cut short."""
    return repr(text[:limit] + ("…" if len(text) > limit else ""))


def strip_runtime(container_id: str) -> str:
    """``containerd://abc…`` -> ``abc…`` (also docker://, cri-o://)."""
    return container_id.split("://", 1)[-1]
