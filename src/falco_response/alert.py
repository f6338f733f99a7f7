"""The alert model: one Falco alert, immutable, with safe accessors.

Everything in an alert except its envelope is written, at least in part, by whoever runs the
process Falco watched: treat every string here as attacker-influenced.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Optional, Union

import msgspec

FieldValue = Union[str, int, float, bool, None]

_EMPTY: Mapping[str, FieldValue] = MappingProxyType({})


class Priority(enum.IntEnum):
    """Falco priorities. The value grows with severity, so ``>=`` means "at least as severe"."""

    DEBUG = 0
    INFORMATIONAL = 1
    NOTICE = 2
    WARNING = 3
    ERROR = 4
    CRITICAL = 5
    ALERT = 6
    EMERGENCY = 7

    @classmethod
    def parse(cls, text: str) -> Priority:
        """Any case; ``info`` is ``Informational``. Raises ``ValueError`` naming the choices."""
        if not isinstance(text, str):
            raise ValueError(f"priority must be a string, got {type(text).__name__}")
        found = _PRIORITY_NAMES.get(text.strip().lower())
        if found is None:
            raise ValueError(f"unknown priority {text[:40]!r}; expected one of {PRIORITY_CHOICES}")
        return found

    @property
    def label(self) -> str:
        """The spelling Falco's JSON uses (``Critical``, ``Informational``)."""
        return self.name.capitalize()

    def __str__(self) -> str:
        return self.label


_PRIORITY_NAMES: dict[str, Priority] = {p.name.lower(): p for p in Priority}
_PRIORITY_NAMES["info"] = Priority.INFORMATIONAL
PRIORITY_CHOICES = ", ".join(p.label for p in sorted(Priority, reverse=True))

_FRACTION = r"\.(\d+)"  # patterns compile on first use (re caches them): cold starts
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_RFC3339 = r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|z|[+-]\d\d:\d\d)"


@functools.lru_cache(maxsize=4096)
def _whole_second(stamp: str, zone: str) -> int:
    """Epoch seconds of ``YYYY-MM-DDTHH:MM:SS`` in ``zone``; alerts of one second share it."""
    when = datetime.fromisoformat(stamp + ("+00:00" if zone in "Zz" else zone))
    return (when - _EPOCH) // _ONE_SECOND


_ONE_SECOND = timedelta(seconds=1)


def parse_time(text: str) -> int:
    """RFC 3339 text to nanoseconds since the epoch (Falco sends nanoseconds).

    Raises ``ValueError`` for text that is not RFC 3339 or has no timezone.
    """
    if not isinstance(text, str):
        raise ValueError(f"time must be an RFC 3339 string, got {type(text).__name__}")
    if len(text) == 30 and text[19] == "." and text[29] == "Z" and text[20:29].isdigit():
        stamp, fraction, zone = text[:19], text[20:29], "Z"  # what Falco sends
    else:
        found = re.fullmatch(_RFC3339, text)
        if found is None:
            return _parse_time_slowly(text)
        stamp, fraction, zone = found.group(1), (found.group(2) or "0").ljust(9, "0"), found.group(3)
    try:
        seconds = _whole_second(stamp, zone)
    except ValueError:
        raise ValueError(f"time {text[:40]!r} is not RFC 3339") from None
    return seconds * 1_000_000_000 + int(fraction)


def _parse_time_slowly(text: str) -> int:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"time {text[:40]!r} is not RFC 3339") from None
    if when.tzinfo is None:
        raise ValueError(f"time {text[:40]!r} has no timezone")
    seconds = (when.replace(microsecond=0) - _EPOCH) // _ONE_SECOND
    match = re.search(_FRACTION, text)
    return seconds * 1_000_000_000 + (int(match.group(1)[:9].ljust(9, "0")) if match else 0)


class Alert(msgspec.Struct, frozen=True, kw_only=True):
    """One Falco alert. Build it with :func:`falco_response.alert_from_dict`.

    A frozen msgspec struct rather than a dataclass: it is built for every alert, and this
    is several times cheaper to construct. ``time`` is computed from ``time_ns`` on access.
    """

    time_ns: int
    rule: str
    priority: Priority
    output: str = ""
    output_fields: Mapping[str, FieldValue] = _EMPTY
    source: str = "syscall"
    tags: frozenset[str] = frozenset()
    hostname: Optional[str] = None
    uuid: Optional[str] = None

    @property
    def time(self) -> datetime:
        """When Falco saw the event, as an aware UTC datetime (microseconds; see ``time_ns``)."""
        return _EPOCH + timedelta(microseconds=self.time_ns // 1000)

    def field(self, name: str) -> FieldValue:
        """An output field, or None when absent (Falco's ``null`` is absent too)."""
        return self.output_fields.get(name)

    def text(self, name: str) -> str | None:
        """An output field as non-empty text, or None."""
        value = self.output_fields.get(name)
        if value is None or isinstance(value, bool):
            return None if value is None else str(value).lower()
        text = str(value)
        return text if text and text != "<NA>" else None

    @property
    def pod_namespace(self) -> str | None:
        ns = self.text("k8s.ns.name")
        if ns is None and self._audit_pod():
            ns = self.text("ka.target.namespace")
        return ns

    @property
    def pod_name(self) -> str | None:
        name = self.text("k8s.pod.name")
        if name is None and self._audit_pod():
            name = self.text("ka.target.name")
        return name

    @property
    def container_id(self) -> str | None:
        return self.text("container.id")

    @property
    def node_name(self) -> str | None:
        """The alert's hostname: the node, when Falco runs as a DaemonSet with FALCO_HOSTNAME."""
        return self.hostname or None

    def _audit_pod(self) -> bool:
        return self.output_fields.get("ka.target.resource") == "pods"

    def to_dict(self) -> dict[str, object]:
        """Falco's JSON shape (what a webhook receiver expects)."""
        data: dict[str, object] = {
            "time": self.time.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.time_ns % 1_000_000_000:09d}Z",
            "rule": self.rule,
            "priority": self.priority.label,
            "output": self.output,
            "output_fields": dict(self.output_fields),
            "source": self.source,
            "tags": sorted(self.tags),
        }
        if self.hostname is not None:
            data["hostname"] = self.hostname
        if self.uuid is not None:
            data["uuid"] = self.uuid
        return data
