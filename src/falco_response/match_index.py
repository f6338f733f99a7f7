"""Finding an alert's responses among thousands without evaluating each one.

Three facts keep the cost of an alert near-constant whatever the number of responses:

- The header of a match (rule, priority, source, tags) depends only on the alert's
  ``(rule, priority, source, tags)``, a small vocabulary: each distinct header is decided
  once per distinct key and remembered (bounded).
- A response with an equality or ``in`` condition can only match an alert whose field has
  one of its values: those responses are indexed by field and comparison key, and an alert
  looks its own values up (one dict lookup per indexed field).
- Responses that state the same condition share one :class:`~falco_response.matching.Atom`,
  evaluated at most once per alert.

The rest (responses with neither an exact rule name nor an indexable field) are scanned,
but only those whose header admits the alert's key. File order and ``stop`` are kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from .alert import Alert
from .matching import Atom, CompiledMatch, _key, field_value

T = TypeVar("T")
_Key = tuple[str, int, str, frozenset[str]]


class ResponseIndex(Generic[T]):
    """The responses whose ``match`` admits an alert, in file order, honouring ``stop``."""

    _CACHE_MAX = 4096

    def __init__(self, entries: Sequence[tuple[CompiledMatch, T]],
                 stops: Sequence[bool] = ()) -> None:
        self.items = [item for _, item in entries]
        self._stop = [bool(stops[i]) if i < len(stops) else False for i in range(len(entries))]
        self._matches = [match for match, _ in entries]
        headers: dict[Any, int] = {}
        self._header_of: list[int] = []
        self._header_match: list[CompiledMatch] = []
        atoms: dict[Any, int] = {}
        self._atoms: list[Atom] = []
        self._atoms_of: list[tuple[int, ...]] = []
        # field (name, dotted name) -> comparison key -> responses, in file order
        self._by_value: dict[tuple[str, str | None], dict[Any, list[int]]] = {}
        self._by_rule: dict[str, list[int]] = {}
        self._scan: list[int] = []
        for i, match in enumerate(self._matches):
            hid = headers.setdefault(match.header_key, len(headers))
            if hid == len(self._header_match):
                self._header_match.append(match)
            self._header_of.append(hid)
            anchor = _anchor(match.atoms)
            ids = []
            for atom in match.atoms:
                if atom is anchor:
                    continue  # the lookup that found the response has decided it
                aid = atoms.setdefault(atom.key, len(atoms))
                if aid == len(self._atoms):
                    self._atoms.append(atom)
                ids.append(aid)
            self._atoms_of.append(tuple(ids))
            if anchor is not None:
                assert anchor.wanted is not None
                table = self._by_value.setdefault((anchor.name, anchor.alt), {})
                for value in anchor.wanted:
                    table.setdefault(value, []).append(i)
            elif match.exact_rules is not None:
                for rule in match.exact_rules:
                    self._by_rule.setdefault(rule, []).append(i)
            else:
                self._scan.append(i)
        self._fields = tuple(self._by_value.items())
        self._headers: dict[_Key, dict[int, bool]] = {}
        self._unindexed: dict[_Key, list[int]] = {}

    def _header_results(self, key: _Key) -> dict[int, bool]:
        found = self._headers.get(key)
        if found is None:
            if len(self._headers) >= self._CACHE_MAX:
                self._headers.clear()
                self._unindexed.clear()
            found = self._headers[key] = {}
        return found

    def _admitted(self, alert: Alert, key: _Key, decided: dict[int, bool]) -> list[int]:
        """The responses without an indexed field whose header admits the key."""
        found = self._unindexed.get(key)
        if found is None:
            pool = sorted(self._by_rule.get(alert.rule, []) + self._scan)
            found = [i for i in pool if self._header(alert, i, decided)]
            self._unindexed[key] = found
        return found

    def _header(self, alert: Alert, i: int, decided: dict[int, bool]) -> bool:
        hid = self._header_of[i]
        ok = decided.get(hid)
        if ok is None:
            ok = decided[hid] = self._header_match[hid].header_ok(alert)
        return ok

    def matching(self, alert: Alert) -> list[T]:
        key: _Key = (alert.rule, int(alert.priority), alert.source, alert.tags)
        decided = self._header_results(key)
        candidates = self._admitted(alert, key, decided)
        fields: Mapping[str, Any] = alert.output_fields
        indexed: list[int] | None = None
        for (name, alt), table in self._fields:
            value = field_value(fields, name, alt)
            if value is not None:
                hits = table.get(_key(value))
                if hits:
                    indexed = hits if indexed is None else indexed + hits
        if indexed is not None:
            indexed = [i for i in indexed if self._header(alert, i, decided)]
            if indexed:
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


def _anchor(atoms: Sequence[Atom]) -> Atom | None:
    """The ``in`` condition with the fewest values: the one to index the response by."""
    best: Atom | None = None
    for atom in atoms:
        if atom.wanted is not None and (best is None or len(atom.wanted) < len(best.wanted or ())):
            best = atom
    return best
