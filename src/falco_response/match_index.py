"""Finding an alert's responses among thousands without evaluating each one.

Three facts keep the cost of an alert near-constant whatever the number of responses:

- The header of a match (rule, priority, source, tags) depends only on the alert's
  ``(rule, priority, source, tags)``, a small vocabulary: which responses' headers admit a
  key is decided once per distinct key and remembered (bounded).
- A response with an equality or ``in`` condition can only match an alert whose field has
  one of its values: those responses are indexed by field and comparison key, and an alert
  looks its own values up.
- Per key, the index remembers a *plan* for each place its lookups lead: the responses there
  that the key's header admits, and one lookup per field (the tables of the responses
  indexed by exact rule and of the others merged) that can still find such a response.
  The largest first-level table is looked up first, and each of its values leads straight
  to one plan of both levels.
- Responses that state the same condition share one atom; what the lookups leave to check
  is a tuple of those atoms' checks (few objects for many responses), and when an alert has
  many candidates each shared check runs once for it.

File order and ``stop`` are kept: the candidates are checked in file order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from .alert import Alert, Priority
from .matching import Atom, CompiledMatch, _key

T = TypeVar("T")
_Key = tuple[str, Priority, str, frozenset[str]]
_Check = Callable[[Mapping[str, Any]], bool]
# name, bracket-free spelling, whether every key of the table is text, the table
_Lookup = tuple[str, "str | None", bool, dict[Any, Any]]
_Plan = tuple[tuple[int, ...], tuple[_Lookup, ...]]
_DEPTH = 3  # a response is indexed by its exact rules and up to three equals/in conditions
_SHARED_FROM = 8  # more candidates than this: remember each condition's answer for the alert


class _Node:
    """Responses reached by a path of (field, value) lookups: ``rest`` are decided by the
    path (in file order), ``tables`` lead further, by another field's value."""

    __slots__ = ("rest", "tables")

    def __init__(self) -> None:
        self.rest: list[int] = []
        self.tables: Any = {}

    def add(self, i: int, anchors: Sequence[Atom]) -> None:
        if not anchors:
            self.rest.append(i)
            return
        anchor, deeper = anchors[0], anchors[1:]
        table = self.tables.setdefault((anchor.name, anchor.alt), {})
        for value in anchor.wanted or ():
            child = table.get(value)
            if child is None:
                child = table[value] = _Node()
            child.add(i, deeper)

    def freeze(self, header_of: Sequence[int]) -> frozenset[int]:
        """Make ``tables`` a tuple of (field, table, headers found under it); returns the
        header ids of every response at or below this node."""
        below = {header_of[i] for i in self.rest}
        frozen = []
        for field, table in self.tables.items():
            under: set[int] = set()
            for child in table.values():
                under |= child.freeze(header_of)
            frozen.append((field, table, tuple(sorted(under))))
            below |= under
        self.tables = tuple(frozen)
        return frozenset(below)


class _Merged:
    """Several nodes one alert reaches by the same field value (for one key): the rule's
    node and the rest's, and their children; looked up once, planned as one."""

    __slots__ = ("nodes",)

    def __init__(self, nodes: tuple[_Node, ...]) -> None:
        self.nodes = nodes


class _KeyState:
    """What one alert key has decided: header answers and the plan of each place reached."""

    __slots__ = ("by_first", "decided", "first", "plans", "top")

    def __init__(self) -> None:
        self.decided: dict[int, bool] = {}
        self.plans: dict[Any, _Plan] = {}
        self.top: _Plan = ((), ())  # without ``first``'s lookup when there is one
        # The top's largest table: looked up first, each value it has leads to one plan
        # of the top and that value's node together (a copy of the table, filled in).
        self.first: _Lookup | None = None
        self.by_first: dict[Any, Any] = {}


class ResponseIndex(Generic[T]):
    """The responses whose ``match`` admits an alert, in file order, honouring ``stop``.

    Responses are indexed, once, by their exact rule names and up to three of their
    equals/in conditions (a tree of dict lookups, least crowded values, most common field
    first). An alert costs its key's lookup, one dict lookup per field its key's plans
    still need, and the remaining conditions of the responses found (the atoms, shared by
    every response that states the same condition).
    """

    _CACHE_MAX = 4096

    def __init__(self, entries: Sequence[tuple[CompiledMatch, T]],
                 stops: Sequence[bool] = ()) -> None:
        self.items = [item for _, item in entries]
        self._stop = [bool(stops[i]) if i < len(stops) else False for i in range(len(entries))]
        matches = [match for match, _ in entries]
        headers: dict[Any, int] = {}
        self._header_of: list[int] = []
        self._headers: list[CompiledMatch] = []
        shared: dict[Any, Atom] = {}  # one atom per distinct condition
        self._checks: list[tuple[_Check, ...]] = []  # what the lookups leave to check
        self._root = _Node()
        self._by_rule: dict[str, _Node] = {}
        crowd = _crowding(matches)
        # The most common fields go first, so responses share the first lookups of a path.
        common: dict[str, int] = {}
        for (name, _), count in crowd.items():
            common[name] = common.get(name, 0) + count
        for i, match in enumerate(matches):
            hid = headers.setdefault(match.header_key, len(headers))
            if hid == len(self._headers):
                self._headers.append(match)
            self._header_of.append(hid)
            anchors = _anchors(match.atoms, crowd, _DEPTH)
            anchors.sort(key=lambda a: -common[a.name])
            rest = [shared.setdefault(atom.key, atom) for atom in match.atoms
                    if not any(atom is a for a in anchors)]  # the lookups decide anchors
            self._checks.append(tuple(atom.check for atom in rest))
            if match.exact_rules is not None:
                for rule in match.exact_rules:
                    node = self._by_rule.get(rule)
                    if node is None:
                        node = self._by_rule[rule] = _Node()
                    node.add(i, anchors)
            else:
                self._root.add(i, anchors)
        for node in self._by_rule.values():
            node.freeze(self._header_of)
        self._root.freeze(self._header_of)
        self._seen_keys: dict[_Key, _KeyState] = {}

    def _key_state(self, key: _Key, alert: Alert) -> _KeyState:
        """A new key's state, with the plan of the root and the rule's node together."""
        if len(self._seen_keys) >= self._CACHE_MAX:
            self._seen_keys.clear()
        state = self._seen_keys[key] = _KeyState()
        by_rule = self._by_rule.get(alert.rule)
        top = (self._root,) if by_rule is None else (self._root, by_rule)
        found, lookups = self._plan(alert, state, top)
        if lookups:
            first = max(lookups, key=lambda lookup: len(lookup[3]))
            name, alt, text, table = first
            state.by_first = dict(table)
            state.first = (name, alt, text, state.by_first)
            lookups = tuple(lookup for lookup in lookups if lookup is not first)
        state.top = (found, lookups)
        return state

    def _with_top(self, alert: Alert, state: _KeyState, child: Any) -> _Plan:
        """The plan of the top and ``child`` (reached by the first lookup) together."""
        found, lookups = self._plan(alert, state, child.nodes if child.__class__ is _Merged
                                    else (child,))
        top_found, top_lookups = state.top
        return tuple(sorted(top_found + found)), top_lookups + lookups

    def _plan(self, alert: Alert, state: _KeyState, nodes: tuple[_Node, ...]) -> _Plan:
        """The responses of ``nodes`` whose headers admit the alert's key (in file order),
        and one lookup per field worth one: with such a response somewhere below it."""
        headers, decided, header_of = self._headers, state.decided, self._header_of

        def ok(hid: int) -> bool:
            answer = decided.get(hid)
            if answer is None:
                answer = decided[hid] = headers[hid].header_ok(alert)
            return answer

        found = sorted(i for node in nodes for i in node.rest if ok(header_of[i]))
        by_field: dict[tuple[str, str | None], list[dict[Any, Any]]] = {}
        for node in nodes:
            for field, table, under in node.tables:
                if any(ok(hid) for hid in under):
                    by_field.setdefault(field, []).append(table)
        lookups = []
        for (name, alt), tables in by_field.items():
            table = tables[0] if len(tables) == 1 else _merge(tables)
            text = all(value.__class__ is str for value in table)
            lookups.append((name, alt, text, table))
        return tuple(found), tuple(lookups)

    def matching(self, alert: Alert) -> list[T]:
        key: _Key = (alert.rule, alert.priority, alert.source, alert.tags)
        state = self._seen_keys.get(key)
        if state is None:
            state = self._key_state(key, alert)
        plans = state.plans
        fields: Mapping[str, Any] = alert.output_fields
        if fields.__class__ is MappingProxyType:  # a dict's ``get`` is twice as fast
            fields = fields.copy()  # type: ignore[attr-defined]
        first = state.first
        if first is None:
            candidates, lookups = state.top
        else:
            name, alt, text, table = first
            value = fields.get(name)
            if value is None and alt is not None:
                value = fields.get(alt)
            if value is None:
                candidates, lookups = state.top
            else:
                value = value if text and value.__class__ is str else _key(value)
                plan = table.get(value)
                if plan is None:
                    candidates, lookups = state.top
                else:
                    if plan.__class__ is not tuple:  # that value's first alert
                        plan = table[value] = self._with_top(alert, state, plan)
                    candidates, lookups = plan
        several = False
        pending = [lookups] if lookups else []
        while pending:  # the places the alert's field values lead to
            for name, alt, text, table in pending.pop():
                value = fields.get(name)
                if value is None:
                    if alt is None:
                        continue
                    value = fields.get(alt)
                    if value is None:
                        continue
                # A text-only table holds no number, so text is its own comparison key
                # (numeric text, whose key is a number, finds nothing either way).
                child = table.get(value if text and value.__class__ is str else _key(value))
                if child is None:
                    continue
                plan = plans.get(child)
                if plan is None:
                    plan = plans[child] = self._plan(
                        alert, state, child.nodes if child.__class__ is _Merged else (child,))
                some, deeper = plan
                if some:
                    if candidates:
                        candidates, several = candidates + some, True
                    else:
                        candidates = some
                if deeper:
                    pending.append(deeper)
        found: list[T] = []
        if not candidates:
            return found
        if several:
            candidates = tuple(sorted(candidates))
        checks, stop, items = self._checks, self._stop, self.items
        if len(candidates) > _SHARED_FROM:
            return self._check_shared(candidates, fields)
        for i in candidates:
            for check in checks[i]:
                if not check(fields):
                    break
            else:
                found.append(items[i])
                if stop[i]:
                    break
        return found

    def _check_shared(self, candidates: Sequence[int], fields: Mapping[str, Any]) -> list[T]:
        """The candidates' checks when they are many: each shared condition (one atom, one
        check) runs once for the alert, however many of them state it."""
        checks, stop, items = self._checks, self._stop, self.items
        seen: dict[_Check, bool] = {}
        found: list[T] = []
        for i in candidates:
            for check in checks[i]:
                ok = seen.get(check)
                if ok is None:
                    ok = seen[check] = check(fields)
                if not ok:
                    break
            else:
                found.append(items[i])
                if stop[i]:
                    break
        return found


def _merge(tables: Sequence[dict[Any, Any]]) -> dict[Any, Any]:
    """One table for several nodes' tables of one field: a value found in more than one
    leads to all their nodes at once."""
    merged: dict[Any, Any] = {}
    for table in tables:
        for value, child in table.items():
            before = merged.get(value)
            if before is None:
                merged[value] = child
            else:
                nodes = before.nodes if before.__class__ is _Merged else (before,)
                merged[value] = _Merged((*nodes, child))
    return merged


def _crowding(matches: Sequence[CompiledMatch]) -> dict[tuple[str, Any], int]:
    """How many responses name each (field, value) in an ``in``: the index prefers the
    values that fewest responses share, so an alert's lookups leave few to check."""
    crowd: dict[tuple[str, Any], int] = {}
    for match in matches:
        for atom in match.atoms:
            for value in atom.wanted or ():
                crowd[atom.name, value] = crowd.get((atom.name, value), 0) + 1
    return crowd


def _anchors(atoms: Sequence[Atom], crowd: dict[tuple[str, Any], int],
             depth: int) -> list[Atom]:
    """The equals/in conditions to index a response by: the least crowded, one per field."""
    ranked = sorted((sum(crowd[a.name, v] for v in a.wanted), n, a)
                    for n, a in enumerate(atoms) if a.wanted is not None)
    chosen: list[Atom] = []
    for _, _, atom in ranked:
        if all(atom.name != c.name for c in chosen):
            chosen.append(atom)
    return chosen[:depth]
