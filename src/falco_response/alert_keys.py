"""The top-level keys of an alert, in whatever case its sender spelled them.

Go's JSON decoder matches keys case-insensitively, so falcosidekick and Falco Talon accept an
alert written ``{"Rule": ..., "Priority": ..., "Output_fields": ...}`` (Talon's own example
events are spelled that way). We accept it too: a key in another case stands for the exact one
when the exact one is absent. Two spellings of one key in one alert are an error that names
both, since the senders would each read a different one.

Only the alert's own keys are folded; ``output_fields`` keys are Falco field names and keep
their case.
"""

from __future__ import annotations

from typing import Any

from .errors import ParseError

ALERT_KEYS = frozenset({"rule", "priority", "time", "output", "output_fields", "source", "tags",
                        "hostname", "uuid"})
_MARKS = frozenset({"rule", "priority", "output_fields"})


def fold_alert_keys(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with the alert's keys in their exact spelling (a copy when one was renamed).

    Raises :class:`ParseError` when one key is spelled two ways (``'Rule' and 'rule'``).
    """
    odd = [k for k in data if k not in ALERT_KEYS]
    if not odd:
        return data  # the common case: every key exact, nothing to do
    found: dict[str, str] = {}
    for key in odd:
        if not isinstance(key, str):
            continue
        exact = key.lower()
        if exact not in ALERT_KEYS:
            continue
        other = exact if exact in data else found.get(exact)
        if other is not None:
            first, second = sorted((other, key))
            raise ParseError(f"alert spells one key two ways: {first!r} and {second!r}")
        found[exact] = key
    if not found:
        return data
    folded = {k: v for k, v in data.items() if k not in found.values()}
    for exact, key in found.items():
        folded[exact] = data[key]
    return folded


def has_alert_keys(data: dict[str, Any]) -> bool:
    """Whether ``data`` names ``rule``, ``priority`` or ``output_fields`` in any case."""
    return any(isinstance(k, str) and k.lower() in _MARKS for k in data)
