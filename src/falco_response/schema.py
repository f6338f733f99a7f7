"""The config file's schema, as msgspec structs: the single source of truth for validation
and for the JSON Schema that ``falco-response schema`` prints."""

from __future__ import annotations

import inspect
import json
import re
from typing import Any, Literal, Union

import msgspec

DEFAULT_PROTECTED = ("kube-system", "kube-public", "kube-node-lease", "falco")
"""The namespaces destructive actions never touch unless the config says otherwise."""

Scalar = Union[str, int, float, bool]
StrOrList = Union[str, list[str]]

_DURATION = r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*"  # full match; compiled on first use
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"  # RFC 1123 label; compiled on first use


def namespace_problem(name: object) -> str | None:
    """Why ``name`` is not a Kubernetes namespace name (an RFC 1123 label), or None.

    A full match on the exact string (``re.fullmatch``): ``"kube-system\\n"``, ``"Payments"``
    and ``"kube-system "`` are refused, never trimmed into a name they are not."""
    if not isinstance(name, str):
        return f"{name!r} is not a namespace name (a string)"
    if re.fullmatch(_DNS_LABEL, name) is None:
        return (f"{name!r} is not a valid namespace name (1-63 characters: lower-case letters, "
                "digits and '-', starting and ending with a letter or digit)")
    return None


def parse_duration(value: Union[str, int, float]) -> float:
    """``"10m"``, ``"30s"``, ``"1h"``, ``"250ms"`` or a number of seconds, to seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration must be a number of seconds or text like '10m'")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = re.fullmatch(_DURATION, value)
        if not match:
            raise ValueError(f"{value!r} is not a duration (use e.g. 30s, 10m, 1h)")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


class Base(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


class FieldOps(Base):
    """Operators on one output field; several in one mapping must all hold."""

    in_: Union[list[Scalar], None] = msgspec.field(default=None, name="in")
    not_in: Union[list[Scalar], None] = None
    glob: Union[StrOrList, None] = None
    regex: Union[StrOrList, None] = None
    prefix: Union[StrOrList, None] = None
    exists: Union[bool, None] = None


FieldCondition = Union[Scalar, list[Scalar], FieldOps]


class TagsSpec(Base):
    all: list[str] = []
    any: list[str] = []
    none: list[str] = []


class MatchSpec(Base):
    rule: Union[StrOrList, None] = None
    priority: Union[StrOrList, None] = None
    source: Union[StrOrList, None] = None
    tags: Union[list[str], TagsSpec, None] = None
    fields: dict[str, FieldCondition] = {}


class CooldownSpec(Base):
    """``cooldown: {for: 10m, key: [rule, target]}``: act once per key per period."""

    for_: Union[str, float] = msgspec.field(name="for")
    key: list[str] = msgspec.field(default_factory=lambda: ["rule", "target"])


Cooldown = Union[str, float, CooldownSpec]


class ApprovalSpec(Base):
    """``approval:``: a person decides before the action runs (see docs/approvals.md)."""

    via: str
    approvers: list[str]
    timeout: Union[str, float] = "15m"
    on_timeout: Literal["deny", "proceed"] = "deny"


class ActionSpec(Base):
    """A configured action: an action type and its parameters (``with``)."""

    type: str
    with_: dict[str, Any] = msgspec.field(default_factory=dict, name="with")
    dry_run: Union[bool, None] = None
    cooldown: Union[Cooldown, None] = None
    approval: Union[ApprovalSpec, None] = None


class ResponseSpec(Base):
    name: str
    actions: list[Union[str, ActionSpec]]
    match: MatchSpec = msgspec.field(default_factory=MatchSpec)
    stop: bool = False
    dry_run: Union[bool, None] = None
    cooldown: Union[Cooldown, None] = None
    approval: Union[ApprovalSpec, None] = None


class LimitSpec(Base):
    """At most ``max`` actions in any window of length ``per`` (across every replica)."""

    max: int
    per: Union[str, float]


class AuditSpec(Base):
    enabled: bool = True
    retention: Union[str, float] = "30d"


class SettingsSpec(Base):
    dry_run: bool = False
    protected_namespaces: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_PROTECTED))
    action_timeout: Union[str, float] = "30s"
    alert_deadline: Union[str, float] = "120s"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    store: Union[str, None] = None  # state store URL: sqlite:///path, dynamodb://table
    limits: dict[str, LimitSpec] = {}  # "destructive" or an action type name
    audit: AuditSpec = msgspec.field(default_factory=AuditSpec)


class ConfigSpec(Base):
    version: Literal[1]
    settings: SettingsSpec = msgspec.field(default_factory=SettingsSpec)
    actions: dict[str, ActionSpec] = {}
    responses: list[ResponseSpec] = []


def json_schema(action_params: dict[str, type[msgspec.Struct]]) -> dict[str, Any]:
    """The config's JSON Schema, with each action type's ``with`` parameters spelled out."""
    names = sorted(action_params)
    (root, *params), components = msgspec.json.schema_components(
        [ConfigSpec, *(action_params[n] for n in names)],
        ref_template="#/$defs/{name}",
    )
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "falco-response configuration",
        **root,
        "$defs": components,
    }
    action = components.get("ActionSpec")
    if action is not None and names:
        action["properties"]["type"] = {"enum": names}
        action["allOf"] = [
            {"if": {"properties": {"type": {"const": name}}},
             "then": {"properties": {"with": ref}}}
            for name, ref in zip(names, params)
        ]
    clean: dict[str, Any] = _clean_descriptions(schema)
    return clean


def _clean_descriptions(node: Any) -> Any:
    """The schema in a form that depends only on its meaning, not on the msgspec version that
    made it: docstring indentation removed from every ``description`` (``inspect.cleandoc``;
    versions differ in whether they do it) and every ``anyOf`` in one order, ``null`` last
    (versions differ in where they put it)."""
    if isinstance(node, dict):
        clean = {key: inspect.cleandoc(value) if key == "description" and isinstance(value, str)
                 else _clean_descriptions(value) for key, value in node.items()}
        if isinstance(clean.get("anyOf"), list):
            clean["anyOf"] = sorted(clean["anyOf"], key=lambda item: (
                item == {"type": "null"}, json.dumps(item, sort_keys=True)))
        return clean
    if isinstance(node, list):
        return [_clean_descriptions(item) for item in node]
    return node
