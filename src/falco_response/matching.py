"""Matching alerts against responses, exactly as DESIGN.md defines it.

Each ``match`` compiles once, at config load, into a list of small predicates (AND).
:class:`ResponseIndex` finds the responses to evaluate for an alert without looking at the
ones that name other Falco rules exactly, so cost does not grow with their number.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from .alert import Alert, Priority
from .schema import FieldOps, MatchSpec, TagsSpec

Predicate = Callable[[Alert], bool]
T = TypeVar("T")

_PRIORITY_EXPR = r"^\s*(<=|>=|<|>|=)?\s*([A-Za-z]+)\s*$"  # compiled on first use
_GLOB_CHARS = frozenset("*?[")


class MatchError(ValueError):
    """A ``match`` block that cannot be compiled; ``path`` is relative to the match block."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path = path


def is_glob(pattern: str) -> bool:
    return any(c in _GLOB_CHARS for c in pattern)


def compile_glob(pattern: str) -> re.Pattern[str]:
    """Shell-style, case-sensitive, whole-string."""
    return re.compile(fnmatch.translate(pattern), re.DOTALL)


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def priority_set(spec: str | list[str]) -> frozenset[Priority]:
    """``">=warning"`` or ``"error"`` or ``["error", "critical"]`` to the set it admits."""
    if isinstance(spec, list):
        return frozenset(Priority.parse(p) for p in spec)
    found = re.match(_PRIORITY_EXPR, spec)
    if not found:
        raise ValueError(f"{spec!r} is not a priority or a comparison like '>=warning'")
    op, name = found.group(1) or "=", found.group(2)
    level = Priority.parse(name)
    tests: dict[str, Callable[[Priority], bool]] = {
        "<": lambda p: p < level, "<=": lambda p: p <= level, "=": lambda p: p == level,
        ">=": lambda p: p >= level, ">": lambda p: p > level,
    }
    return frozenset(p for p in Priority if tests[op](p))


_INT = re.compile(r"-?\d+")
_FLOAT = re.compile(r"-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def _number(value: Any) -> int | float | None:
    """The numeric value of an int, float or numeric text; ints stay exact (no float rounding)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str) and len(value) < 64:
        if _INT.fullmatch(value):
            return int(value)
        if _FLOAT.fullmatch(value):
            return float(value)
    return None


def _key(value: Any) -> Any:
    """Comparison key: numbers by value whatever their spelling, other values as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    number = _number(value)
    return number if number is not None else str(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _field_predicates(name: str, cond: Any, path: str) -> list[Predicate]:
    def present(a: Alert) -> Any:
        return a.output_fields.get(name)

    if isinstance(cond, FieldOps):
        ops = cond
    elif isinstance(cond, list):
        ops = FieldOps(in_=cond)
    else:
        ops = FieldOps(in_=[cond])

    preds: list[Predicate] = []
    if ops.in_ is not None:
        wanted = frozenset(_key(v) for v in ops.in_)
        preds.append(lambda a: (v := present(a)) is not None and _key(v) in wanted)
    if ops.not_in is not None:
        unwanted = frozenset(_key(v) for v in ops.not_in)
        preds.append(lambda a: (v := present(a)) is None or _key(v) not in unwanted)
    if ops.glob is not None:
        globs = [compile_glob(g) for g in _as_list(ops.glob)]
        preds.append(lambda a: (v := present(a)) is not None
                     and any(g.match(_text(v)) for g in globs))
    if ops.regex is not None:
        regexes = []
        for i, pattern in enumerate(_as_list(ops.regex)):
            try:
                regexes.append(re.compile(pattern))
            except re.error as exc:
                where = f"{path}.regex" if isinstance(ops.regex, str) else f"{path}.regex[{i}]"
                raise MatchError(where, f"bad regex {pattern!r}: {exc}") from None
        preds.append(lambda a: (v := present(a)) is not None
                     and any(r.search(_text(v)) for r in regexes))
    if ops.prefix is not None:
        prefixes = tuple(_as_list(ops.prefix))
        preds.append(lambda a: (v := present(a)) is not None and _text(v).startswith(prefixes))
    if ops.exists is not None:
        want = ops.exists
        preds.append(lambda a: (present(a) is not None) is want)
    return preds


def _tag_predicates(spec: list[str] | TagsSpec) -> list[Predicate]:
    if isinstance(spec, list):
        spec = TagsSpec(all=spec)
    preds: list[Predicate] = []
    if spec.all:
        need = frozenset(spec.all)
        preds.append(lambda a: need <= a.tags)
    if spec.any:
        some = frozenset(spec.any)
        preds.append(lambda a: not some.isdisjoint(a.tags))
    if spec.none:
        banned = frozenset(spec.none)
        preds.append(lambda a: banned.isdisjoint(a.tags))
    return preds


class CompiledMatch:
    """A compiled ``match`` block. ``exact_rules`` is set when it names only exact rules."""

    __slots__ = ("exact_rules", "predicates")

    def __init__(self, spec: MatchSpec) -> None:
        self.predicates: list[Predicate] = []
        self.exact_rules: frozenset[str] | None = None
        if spec.rule is not None:
            rules = _as_list(spec.rule)
            if not rules:
                raise MatchError("rule", "an empty list matches no alert")
            if any(is_glob(r) for r in rules):
                exact = frozenset(rules)  # a name with brackets may also be meant literally
                globs = [compile_glob(r) for r in rules if is_glob(r)]
                self.predicates.append(
                    lambda a: a.rule in exact or any(g.match(a.rule) for g in globs))
            else:
                self.exact_rules = frozenset(rules)
        if spec.priority is not None:
            try:
                admitted = priority_set(spec.priority)
            except ValueError as exc:
                raise MatchError("priority", str(exc)) from None
            self.predicates.append(lambda a: a.priority in admitted)
        if spec.source is not None:
            sources = frozenset("syscall" if s == "syscalls" else s for s in _as_list(spec.source))
            self.predicates.append(lambda a: a.source in sources)
        if spec.tags is not None:
            self.predicates.extend(_tag_predicates(spec.tags))
        for name, cond in spec.fields.items():
            self.predicates.extend(_field_predicates(name, cond, f"fields.{name}"))

    def __call__(self, alert: Alert) -> bool:
        if self.exact_rules is not None and alert.rule not in self.exact_rules:
            return False
        for predicate in self.predicates:
            if not predicate(alert):
                return False
        return True


class ResponseIndex(Generic[T]):
    """Finds, in file order, the responses whose ``match`` admits an alert.

    Responses that name only exact Falco rules are indexed by rule name; the others are
    checked for every alert. The per-rule candidate list is built once per rule name seen
    (bounded cache), so an alert costs a dict lookup plus its candidates' predicates.
    """

    _CACHE_MAX = 4096

    def __init__(self, entries: Sequence[tuple[CompiledMatch, T]]) -> None:
        self._entries = list(entries)
        self._by_rule: dict[str, list[int]] = {}
        self._scan: list[int] = []
        for i, (match, _) in enumerate(self._entries):
            if match.exact_rules is None:
                self._scan.append(i)
            else:
                for rule in match.exact_rules:
                    self._by_rule.setdefault(rule, []).append(i)
        self._cache: dict[str, list[tuple[CompiledMatch, T]]] = {}

    def candidates(self, rule: str) -> list[tuple[CompiledMatch, T]]:
        found = self._cache.get(rule)
        if found is None:
            order = sorted(set(self._by_rule.get(rule, ())) | set(self._scan))
            found = [self._entries[i] for i in order]
            if len(self._cache) >= self._CACHE_MAX:
                self._cache.clear()
            self._cache[rule] = found
        return found

    def matching(self, alert: Alert) -> list[T]:
        return [item for match, item in self.candidates(alert.rule) if match(alert)]
