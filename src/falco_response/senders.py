"""What Falco and falcosidekick do to alerts that the engine must allow for.

- **Internal events.** falcosidekick's test alert (rule ``Test rule``) and Falco's own events
  ("Falco internal: syscall event drop") have ``source: internal`` and name no workload. No
  destructive action runs for them unless the response's ``match`` names ``source: internal``
  explicitly; notifications still run.
- **Truncated fields.** When an alert's JSON is over 4,096 characters, falcosidekick cuts every
  string output field longer than 512 bytes to its first 507 bytes plus ``[...]``. A ``glob``,
  ``regex`` or ``prefix`` condition then reads the cut value; the outcomes of a response that
  has such a condition on a cut field say so in their ``detail`` (``truncated_fields``).
"""

from __future__ import annotations

from collections.abc import Iterable

from .alert import Alert
from .schema import ConfigSpec, FieldOps, MatchSpec

INTERNAL_SOURCE = "internal"
INTERNAL_SKIP = ("source: internal (falcosidekick's test alert or one of Falco's own events) "
                 "names no workload: destructive actions run for it only when the response's "
                 "match names source: internal")
TRUNCATION_MARK = "[...]"
TRUNCATED_NOTE = ("falcosidekick truncated these fields to 507 characters + [...]; the glob, "
                  "regex or prefix condition on them read the truncated value")
_KEPT_BYTES = 507
_MAX_BYTES = _KEPT_BYTES + 6  # a UTF-8 sequence cut in two: each stray byte becomes U+FFFD


def names_internal(match: MatchSpec) -> bool:
    """Whether ``match.source`` names ``internal`` (a string or in a list)."""
    source = match.source
    return source == INTERNAL_SOURCE or (isinstance(source, list) and INTERNAL_SOURCE in source)


def text_condition_fields(match: MatchSpec) -> tuple[str, ...]:
    """The output fields a ``glob``, ``regex`` or ``prefix`` condition of ``match`` reads."""
    return tuple(name for name, cond in match.fields.items() if isinstance(cond, FieldOps)
                 and (cond.glob is not None or cond.regex is not None
                      or cond.prefix is not None))


def is_truncated(value: object) -> bool:
    """Whether ``value`` has the shape of a field falcosidekick truncated."""
    if not isinstance(value, str) or not value.endswith(TRUNCATION_MARK):
        return False
    kept = len(value.encode("utf-8", "replace")) - len(TRUNCATION_MARK)
    return _KEPT_BYTES <= kept <= _MAX_BYTES


def _spellings(name: str) -> Iterable[str]:
    """A field as written, and as falcosidekick's SNS attributes spell it (``a[2]`` -> ``a.2``)."""
    yield name
    if "[" in name:
        yield name.replace("]", "").replace("[", ".")


class SenderChecks:
    """Per response, computed once from the config: whether it names ``source: internal``,
    and which fields its text conditions read (most responses have none: no cost)."""

    def __init__(self, spec: ConfigSpec) -> None:
        self.internal_ok = frozenset(r.name for r in spec.responses if names_internal(r.match))
        self.text_fields = {r.name: fields for r in spec.responses
                            if (fields := text_condition_fields(r.match))}

    def blocks_destructive(self, alert: Alert, response: str) -> bool:
        return alert.source == INTERNAL_SOURCE and response not in self.internal_ok

    def truncated(self, alert: Alert, response: str) -> list[str]:
        """The fields ``response``'s text conditions read that falcosidekick truncated."""
        fields = self.text_fields.get(response)
        if not fields:
            return []
        found = alert.output_fields
        return [name for name in fields
                if any(is_truncated(found.get(spelling)) for spelling in _spellings(name))]
