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

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from .alert import Alert, Priority
from .matching import Atom, CompiledMatch, _key, field_value

T = TypeVar("T")
_Key = tuple[str, Priority, str, frozenset[str]]
_Plan = tuple[list[int], tuple[tuple[tuple[str, "str | None"], dict[Any, list[int]]], ...]]


class ResponseIndex(Generic[T]):
    """The responses whose ``match`` admits an alert, in file order, honouring ``stop``.

    For each distinct alert key (rule, priority, source, tags) a *plan* is built once: the
    responses whose header admits the key, split into those indexed by a field's value and
    the rest. An alert then costs its plan's lookup, one dict lookup per indexed field, and
    the atoms of the few responses those lookups and the rest leave.
    """

    _CACHE_MAX = 1024

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
        self._atoms_of: list[tuple[int, ...]] = []
        self._anchor: list[Atom | None] = []
        self._by_rule: dict[str, list[int]] = {}
        self._general: list[int] = []
        crowd = _crowding(matches)
        for i, match in enumerate(matches):
            hid = headers.setdefault(match.header_key, len(headers))
            if hid == len(self._headers):
                self._headers.append(match)
            self._header_of.append(hid)
            anchor = _anchor(match.atoms, crowd)
            self._anchor.append(anchor)
            ids = []
            for atom in match.atoms:
                if atom is anchor:
                    continue  # the lookup that finds the response decides it
                aid = atoms.setdefault(atom.key, len(atoms))
                if aid == len(self._atoms):
                    self._atoms.append(atom)
                ids.append(aid)
            self._atoms_of.append(tuple(ids))
            if match.exact_rules is not None:
                for rule in match.exact_rules:
                    self._by_rule.setdefault(rule, []).append(i)
            else:
                self._general.append(i)
        self._plans: dict[_Key, _Plan] = {}

    def _plan(self, alert: Alert, key: _Key) -> _Plan:
        pool = self._by_rule.get(alert.rule)
        pool = self._general if pool is None else sorted(pool + self._general)
        decided: dict[int, bool] = {}
        rest: list[int] = []
        tables: dict[tuple[str, str | None], dict[Any, list[int]]] = {}
        for i in pool:
            hid = self._header_of[i]
            ok = decided.get(hid)
            if ok is None:
                ok = decided[hid] = self._headers[hid].header_ok(alert)
            if not ok:
                continue
            anchor = self._anchor[i]
            if anchor is None:
                rest.append(i)
                continue
            table = tables.setdefault((anchor.name, anchor.alt), {})
            assert anchor.wanted is not None
            for value in anchor.wanted:
                table.setdefault(value, []).append(i)
        plan = (rest, tuple(tables.items()))
        if len(self._plans) >= self._CACHE_MAX:
            self._plans.clear()
        self._plans[key] = plan
        return plan

    def matching(self, alert: Alert) -> list[T]:
        key: _Key = (alert.rule, alert.priority, alert.source, alert.tags)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plan(alert, key)
        candidates, tables = plan
        fields: Mapping[str, Any] = alert.output_fields
        indexed: list[int] | None = None
        for (name, alt), table in tables:
            value = field_value(fields, name, alt)
            if value is not None:
                hits = table.get(_key(value))
                if hits:
                    indexed = hits if indexed is None else indexed + hits
        if indexed is not None:
            candidates = sorted(candidates + indexed)
        found: list[T] = []
        if not candidates:
            return found
        seen: dict[int, bool] = {}
        atoms, atoms_of, stop, items = self._atoms, self._atoms_of, self._stop, self.items
        for i in candidates:
            for aid in atoms_of[i]:
                ok = seen.get(aid)
                if ok is None:
                    ok = seen[aid] = atoms[aid](fields)
                if not ok:
                    break
            else:
                found.append(items[i])
                if stop[i]:
                    break
        return found


def _crowding(matches: Sequence[CompiledMatch]) -> dict[tuple[str, Any], int]:
    """How many responses name each (field, value) in an ``in``: the index prefers the
    value that fewest responses share, so an alert's lookup leaves few to check."""
    crowd: dict[tuple[str, Any], int] = {}
    for match in matches:
        for atom in match.atoms:
            for value in atom.wanted or ():
                crowd[atom.name, value] = crowd.get((atom.name, value), 0) + 1
    return crowd


def _anchor(atoms: Sequence[Atom], crowd: dict[tuple[str, Any], int]) -> Atom | None:
    """The ``in`` condition to index the response by: the least crowded one."""
    best: Atom | None = None
    best_cost = 0
    for atom in atoms:
        if atom.wanted is None:
            continue
        cost = sum(crowd[atom.name, v] for v in atom.wanted)
        if best is None or cost < best_cost:
            best, best_cost = atom, cost
    return best
