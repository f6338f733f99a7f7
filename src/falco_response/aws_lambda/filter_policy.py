"""SNS subscription filter policies from a config: let through every alert some response could
act on, and as few others as SNS's policy language and limits allow.

Each response's ``match`` gives a *branch*: the values it admits for ``priority``, ``rule`` and
``source`` (tags and output fields are not filtered on: SNS cannot express them for
falcosidekick's attributes). The policy is one flat AND of per-key unions over all branches,
a superset of their OR. (SNS's ``$or`` would be tighter, but emulators disagree with AWS about
its complexity count, so a policy that deploys could not be tested; flat policies mean the same
everywhere.) When the result breaks a limit (5 keys, 150 value combinations, 256 KB), keys are
dropped, widest first: widening lets more alerts through, it never loses one.

Two scopes: ``attributes`` (``FilterPolicyScope: MessageAttributes``) for falcosidekick's
default SNS publish, whose message attributes carry ``priority``, ``rule`` and ``source``;
``body`` (``MessageBody``) for raw alert JSON (falcosidekick's ``rawjson: true``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..alert import Priority
from ..matching import is_glob, priority_set
from ..schema import MatchSpec

SCOPES = {"attributes": "MessageAttributes", "body": "MessageBody"}
MAX_KEYS = 5
MAX_COMBINATIONS = 150
MAX_BYTES = 256 * 1024
_SPECIAL_IN_ATTRIBUTES = ('"', "\\")

Branch = dict[str, list[Any]]


@dataclass
class FilterPolicy:
    """A policy, its scope, and what was widened on the way (for the operator to read)."""

    policy: dict[str, list[Any]]
    scope: str
    combinations: int
    notes: list[str] = field(default_factory=list)

    @property
    def filters(self) -> bool:
        """False when every alert must get through (subscribe without a filter policy)."""
        return bool(self.policy)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.policy, indent=indent, ensure_ascii=False)


def combinations(policy: dict[str, list[Any]]) -> int:
    """SNS's complexity measure: the product of the number of values of each key."""
    return math.prod(len(values) for values in policy.values()) if policy else 0


def _prefix(pattern: str, scope: str) -> str:
    stops = set("*?[") | (set(_SPECIAL_IN_ATTRIBUTES) if scope == "attributes" else set())
    for i, char in enumerate(pattern):
        if char in stops:
            return pattern[:i]
    return pattern


def branch_for(match: MatchSpec, scope: str, notes: list[str], name: str) -> Branch:
    """The keys and values one response's ``match`` admits (a missing key admits anything)."""
    branch: Branch = {}
    if match.rule is not None:
        values: list[Any] = []
        for rule in [match.rule] if isinstance(match.rule, str) else match.rule:
            exact = not is_glob(rule) and not (
                scope == "attributes" and any(c in rule for c in _SPECIAL_IN_ATTRIBUTES))
            if exact:
                values.append(rule)
                continue
            prefix = _prefix(rule, scope)
            if not prefix:
                notes.append(f"response {name!r}: rule pattern {rule!r} has no fixed prefix; "
                             "not filtering on rule for it")
                values = []
                break
            values.append({"prefix": prefix})
        if values:
            branch["rule"] = values
    if match.priority is not None:
        admitted = priority_set(match.priority)
        if admitted != frozenset(Priority):
            branch["priority"] = [p.label for p in sorted(admitted, reverse=True)]
    if match.source is not None:
        sources = [match.source] if isinstance(match.source, str) else list(match.source)
        values = list(dict.fromkeys("syscall" if s == "syscalls" else s for s in sources))
        if "syscall" in values:
            # falcosidekick says "syscalls" when Falco sent no source, and no source means syscall
            values += ["syscalls", {"exists": False}]
        branch["source"] = values
    return branch


def _union(values: Iterable[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for value in values:
        seen.setdefault(json.dumps(value, sort_keys=True), value)
    merged = list(seen.values())
    prefixes = [v["prefix"] for v in merged if isinstance(v, dict) and "prefix" in v]
    return [v for v in merged if not (isinstance(v, str) and v.startswith(tuple(prefixes)))]


def build_policy(matches: Sequence[tuple[str, MatchSpec]], scope: str = "attributes"
                 ) -> FilterPolicy:
    """The tightest flat policy within SNS's limits admitting every alert a response matches."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    notes: list[str] = []
    branches = [branch_for(match, scope, notes, name) for name, match in matches]
    if not branches:
        return FilterPolicy({"rule": ["falco-response: no responses configured"]}, SCOPES[scope],
                            1, ["the config has no responses: nothing needs to get through"])
    open_branches = [name for (name, _), b in zip(matches, branches) if not b]
    if open_branches:
        notes.append(f"response(s) {', '.join(map(repr, open_branches))} match every priority, "
                     "rule and source: no filter can help")
        return FilterPolicy({}, SCOPES[scope], 0, notes)
    keys = [k for k in ("priority", "rule", "source") if all(k in b for b in branches)]
    for key in {k for b in branches for k in b} - set(keys):
        notes.append(f"not filtering on {key}: some response admits any {key}")
    policy = {k: _union(v for b in branches for v in b[k]) for k in keys}
    while policy and (len(policy) > MAX_KEYS or combinations(policy) > MAX_COMBINATIONS
                      or len(json.dumps(policy)) > MAX_BYTES):
        widest = max(policy, key=lambda k: len(policy[k]))
        notes.append(f"dropped {widest} ({len(policy[widest])} values) to stay within SNS "
                     f"limits ({combinations(policy)} combinations)")
        del policy[widest]
    if not policy:
        notes.append("no key left to filter on: every alert gets through")
    return FilterPolicy(policy, SCOPES[scope], combinations(policy), notes)
