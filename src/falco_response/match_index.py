"""Finding an alert's responses among thousands without evaluating each one.

Three facts keep the cost of an alert near-constant whatever the number of responses:

- The header of a match (rule, priority, source, tags) depends only on the alert's
  ``(rule, priority, source, tags)``, a small vocabulary: which responses' headers admit a
  key is decided once per distinct key and remembered (bounded).
- A response with an equality or ``in`` condition can only match an alert whose field has
  one of its values: those responses are indexed by field and comparison key, and an alert
  looks its own values up (one dict lookup per indexed field).
- Responses that state the same condition share one :class:`~falco_response.matching.Atom`,
  evaluated at most once per alert.

File order and ``stop`` are kept: candidates are evaluated in file order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from .alert import Alert, Priority
from .matching import Atom, CompiledMatch, _key

T = TypeVar("T")
_Key = tuple[str, Priority, str, frozenset[str]]
_Field = tuple[str, "str | None"]
_Plan = tuple[list[int], tuple[tuple[str, "str | None", Any], ...]]
_DEPTH = 3  # a response is indexed by its exact rules and up to three equals/in conditions


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


class ResponseIndex(Generic[T]):
    """The responses whose ``match`` admits an alert, in file order, honouring ``stop``.

    Responses are indexed, once, by their exact rule names and up to three of their
    equals/in conditions (a tree of dict lookups, least crowded values, most common field
    first). Each node's responses are filtered by their header once per distinct alert key. An alert costs a few dict lookups of its
    rule and field values, the header answers of the responses found (remembered per key),
    and the remaining atoms of those that pass.
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
        atoms: dict[Any, int] = {}
        self._atoms: list[Atom] = []
        self._checks: list[Callable[[Mapping[str, Any]], bool]] = []
        self._atoms_of: list[tuple[int, ...]] = []
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
            ids = []
            for atom in match.atoms:
                if any(atom is a for a in anchors):
                    continue  # the lookups that find the response decide it
                aid = atoms.setdefault(atom.key, len(atoms))
                if aid == len(self._atoms):
                    self._atoms.append(atom)
                    self._checks.append(atom.check)
                ids.append(aid)
            self._atoms_of.append(tuple(ids))
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
        self._seen_keys: dict[_Key, tuple[dict[int, bool], dict[_Node, _Plan]]] = {}

    def _key_state(self, key: _Key) -> tuple[dict[int, bool], dict[_Node, _Plan]]:
        """Per alert key: header answers, and each node's plan for alerts of that key."""
        if len(self._seen_keys) >= self._CACHE_MAX:
            self._seen_keys.clear()
        state: tuple[dict[int, bool], dict[_Node, _Plan]] = ({}, {})
        self._seen_keys[key] = state
        return state

    def _plan(self, alert: Alert, node: _Node, decided: dict[int, bool],
              plans: dict[_Node, _Plan]) -> _Plan:
        """A node's responses whose headers admit the alert's key, and the tables worth a
        lookup: those with such a response below them (the others cannot add a candidate)."""
        headers = self._headers

        def ok(hid: int) -> bool:
            answer = decided.get(hid)
            if answer is None:
                answer = decided[hid] = headers[hid].header_ok(alert)
            return answer

        header_of = self._header_of
        found = [i for i in node.rest if ok(header_of[i])]
        tables = tuple((name, alt, table) for (name, alt), table, under in node.tables
                       if any(ok(hid) for hid in under))
        plan = plans[node] = (found, tables)
        return plan

    def matching(self, alert: Alert) -> list[T]:
        key: _Key = (alert.rule, alert.priority, alert.source, alert.tags)
        state = self._seen_keys.get(key)
        if state is None:
            state = self._key_state(key)
        decided, plans = state
        fields: Mapping[str, Any] = alert.output_fields
        keys: dict[str, Any] = {}  # the alt spelling follows from the name
        stack = [self._root]
        by_rule = self._by_rule.get(alert.rule)
        if by_rule is not None:
            stack.append(by_rule)
        candidates: list[int] = []
        several = False
        while stack:  # the nodes the alert's rule and field values lead to
            node = stack.pop()
            plan = plans.get(node)
            if plan is None:
                plan = self._plan(alert, node, decided, plans)
            some, tables = plan
            if some:
                if candidates:
                    candidates, several = candidates + some, True
                else:
                    candidates = some
            for name, alt, table in tables:
                value = keys.get(name, keys)
                if value is keys:  # each field's comparison key, once per alert
                    value = fields.get(name)
                    if value is None and alt is not None:
                        value = fields.get(alt)
                    value = keys[name] = None if value is None else _key(value)
                if value is not None:
                    child = table.get(value)
                    if child is not None:
                        stack.append(child)
        if several:
            candidates.sort()
        found: list[T] = []
        if not candidates:
            return found
        seen: dict[int, bool] = {}
        checks, atoms_of, stop, items = self._checks, self._atoms_of, self._stop, self.items
        for i in candidates:
            for aid in atoms_of[i]:
                ok = seen.get(aid)
                if ok is None:
                    ok = seen[aid] = checks[aid](fields)
                if not ok:
                    break
            else:
                found.append(items[i])
                if stop[i]:
                    break
        return found


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
