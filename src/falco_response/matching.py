"""Matching alerts against responses, exactly as DESIGN.md defines it.

Each ``match`` compiles once, at config load, into a header (rule, priority, source, tags)
and a list of field atoms (AND). :class:`falco_response.match_index.ResponseIndex` uses
those parts to find an alert's responses without evaluating every one of them.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .alert import Alert, Priority
from .schema import FieldOps, MatchSpec, TagsSpec


_PRIORITY_EXPR = r"^\s*(<=|>=|<|>|=)?\s*([A-Za-z]+)\s*$"  # compiled on first use
_GLOB_CHARS = frozenset("*?[")
# The labels that keep apart the keys of different operators (Atom.key) and of different
# header parts (CompiledMatch.header_key): only ever compared with each other.
_IN, _NOT_IN, _GLOB, _REGEX, _PREFIX, _EXISTS = "in", "not_in", "glob", "regex", "prefix", "exists"
_RULE, _PRIORITY, _SOURCE, _TAGS = "rule", "priority", "source", "tags"


class MatchError(ValueError):
    """A ``match`` block that cannot be compiled; ``path`` is relative to the match block."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path = path


def is_glob(pattern: str) -> bool:
    return any(c in _GLOB_CHARS for c in pattern)


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def priority_set(spec: str | list[str]) -> frozenset[Priority]:
    """``">=warning"`` or ``"error"`` or ``["error", "critical"]`` to the set it admits."""
    if isinstance(spec, list):
        return frozenset(Priority.parse(p) for p in spec)
    return _priority_comparison(spec)


@functools.lru_cache(maxsize=256)  # pragma: no mutate
def _priority_comparison(spec: str) -> frozenset[Priority]:
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
    if isinstance(value, str):
        return _text_key(value) if len(value) < 64 else value  # pragma: no mutate
    if isinstance(value, bool):
        return "true" if value else "false"
    number = _number(value)
    return number if number is not None else str(value)


@functools.lru_cache(maxsize=16384)  # pragma: no mutate
def _text_key(value: str) -> Any:
    """Field values repeat (namespaces, users, images): their keys are worth remembering."""
    number = _number(value)
    return number if number is not None else value


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def dotted(name: str) -> str | None:
    """falcosidekick's spelling of a bracketed field name in SNS attributes
    (``proc.aname[2]`` -> ``proc.aname.2``), or None when the name has no brackets."""
    if "[" not in name:
        return None
    return name.replace("[", ".").replace("]", "")


def field_value(fields: Mapping[str, Any], name: str, alt: str | None) -> Any:
    """An output field by its name, else by falcosidekick's dotted spelling of it."""
    value = fields.get(name)
    if value is None and alt is not None:
        return fields.get(alt)
    return value


class Atom:
    """One operator on one field (``k8s.ns.name in [a, b]``): the unit the index shares.

    ``key`` identifies it, so responses that state the same condition evaluate it once per
    alert; ``wanted`` is the set of comparison keys of an ``in`` (what the index looks up).
    """

    __slots__ = ("alt", "check", "key", "name", "wanted")

    def __init__(self, name: str, op: str, args: Any, test: Callable[[Any], bool],
                 direct: Callable[[Mapping[str, Any]], bool],
                 wanted: frozenset[Any] | None = None) -> None:
        self.name = name
        self.alt = alt = dotted(name)
        self.key = (name, op, args)
        self.wanted = wanted
        self.check: Callable[[Mapping[str, Any]], bool]
        if alt is None:  # ``direct``: ``test`` of the field, in one call instead of two
            self.check = direct
        else:
            self.check = lambda fields: test(field_value(fields, name, alt))

    def __call__(self, fields: Mapping[str, Any]) -> bool:
        return self.check(fields)


def _atoms(name: str, cond: Any, path: str) -> list[Atom]:
    if isinstance(cond, FieldOps):
        ops = cond
    elif isinstance(cond, list):
        ops = FieldOps(in_=cond)
    else:
        ops = FieldOps(in_=[cond])

    atoms: list[Atom] = []
    # Each ``direct`` is its test applied to ``fields.get(name)``, written out: matching
    # thousands of responses evaluates these more than anything else.
    if ops.in_ is not None:
        wanted = frozenset(_key(v) for v in ops.in_)
        atoms.append(Atom(name, _IN, wanted,
                          lambda v: v is not None and _key(v) in wanted,
                          lambda f: (v := f.get(name)) is not None and _key(v) in wanted,
                          wanted))
    if ops.not_in is not None:
        unwanted = frozenset(_key(v) for v in ops.not_in)
        atoms.append(Atom(name, _NOT_IN, unwanted,
                          lambda v: v is None or _key(v) not in unwanted,
                          lambda f: (v := f.get(name)) is None or _key(v) not in unwanted))
    if ops.glob is not None:
        globs = _as_list(ops.glob)
        merged = compile_glob_any(globs)
        atoms.append(Atom(name, _GLOB, tuple(globs),
                          lambda v: v is not None and merged(_text(v)) is not None,
                          lambda f: (v := f.get(name)) is not None
                          and merged(v if v.__class__ is str else _text(v)) is not None))
    if ops.regex is not None:
        regexes = []
        for i, pattern in enumerate(_as_list(ops.regex)):
            try:
                regexes.append(re.compile(pattern))
            except re.error as exc:
                where = f"{path}.regex" if isinstance(ops.regex, str) else f"{path}.regex[{i}]"
                raise MatchError(where, f"bad regex {pattern!r}: {exc}") from None
        test: Callable[[Any], bool]
        direct: Callable[[Mapping[str, Any]], bool]
        if len(regexes) == 1:  # the usual case: no generator to build per evaluation
            search = regexes[0].search
            test = lambda v: v is not None and search(_text(v)) is not None  # noqa: E731
            direct = lambda f: (v := f.get(name)) is not None and search(  # noqa: E731
                v if v.__class__ is str else _text(v)) is not None
        else:
            test = lambda v: v is not None and any(r.search(_text(v)) for r in regexes)  # noqa: E731
            direct = lambda f: test(f.get(name))  # noqa: E731
        atoms.append(Atom(name, _REGEX, tuple(_as_list(ops.regex)), test, direct))
    if ops.prefix is not None:
        prefixes = tuple(_as_list(ops.prefix))
        atoms.append(Atom(name, _PREFIX, prefixes,
                          lambda v: v is not None and _text(v).startswith(prefixes),
                          lambda f: (v := f.get(name)) is not None
                          and (v if v.__class__ is str else _text(v)).startswith(prefixes)))
    if ops.exists is not None:
        want = ops.exists
        atoms.append(Atom(name, _EXISTS, want, lambda v: (v is not None) is want,
                          lambda f: (f.get(name) is not None) is want))
    return atoms


def compile_glob_any(globs: Sequence[str]) -> Callable[[str], Any]:
    """One whole-string matcher for several shell globs (one regex, not one per glob):
    shell-style, case-sensitive."""
    return _glob_matcher(tuple(globs))


@functools.lru_cache(maxsize=4096)  # pragma: no mutate
def _glob_matcher(globs: tuple[str, ...]) -> Callable[[str], Any]:
    # A config of thousands repeats its globs: translate and compile each set once.
    return re.compile("|".join(f"(?:{fnmatch.translate(g)})" for g in globs), re.DOTALL).match


class CompiledMatch:
    """A compiled ``match`` block: a header (rule, priority, source, tags: what a small
    vocabulary of alerts decides) and the field atoms (AND).

    ``exact_rules`` is set when it names only exact rules; ``header_key`` is equal for two
    matches whose headers admit the same alerts, so the index can decide them once.
    """

    __slots__ = ("atoms", "exact_rules", "header_key", "_header")

    def __init__(self, spec: MatchSpec) -> None:
        header: list[Callable[[Alert], bool]] = []
        key: list[Any] = []
        self.exact_rules: frozenset[str] | None = None
        if spec.rule is not None:
            rules = _as_list(spec.rule)
            if not rules:
                raise MatchError("rule", "an empty list matches no alert")
            exact = frozenset(rules)  # a name with brackets may also be meant literally
            key.append((_RULE, exact))
            if any(is_glob(r) for r in rules):
                merged = compile_glob_any([r for r in rules if is_glob(r)])
                header.append(lambda a: a.rule in exact or merged(a.rule) is not None)
            else:
                self.exact_rules = exact
                header.append(lambda a: a.rule in exact)
        if spec.priority is not None:
            try:
                admitted = priority_set(spec.priority)
            except ValueError as exc:
                raise MatchError("priority", str(exc)) from None
            key.append((_PRIORITY, admitted))
            header.append(lambda a: a.priority in admitted)
        if spec.source is not None:
            sources = frozenset("syscall" if s == "syscalls" else s for s in _as_list(spec.source))
            key.append((_SOURCE, sources))
            header.append(lambda a: a.source in sources)
        if spec.tags is not None:
            tags = spec.tags if isinstance(spec.tags, TagsSpec) else TagsSpec(all=spec.tags)
            need, some, banned = frozenset(tags.all), frozenset(tags.any), frozenset(tags.none)
            key.append((_TAGS, need, some, banned))
            header.append(lambda a: need <= a.tags and (not some or not some.isdisjoint(a.tags))
                          and banned.isdisjoint(a.tags))
        self._header = tuple(header)
        self.header_key = tuple(key)
        self.atoms: list[Atom] = []
        for name, cond in spec.fields.items():
            self.atoms.extend(_atoms(name, cond, f"fields.{name}"))

    def header_ok(self, alert: Alert) -> bool:
        """Whether the rule, priority, source and tags parts admit ``alert``."""
        return all(test(alert) for test in self._header)

    def __call__(self, alert: Alert) -> bool:
        if not self.header_ok(alert):
            return False
        fields = alert.output_fields
        return all(atom(fields) for atom in self.atoms)
