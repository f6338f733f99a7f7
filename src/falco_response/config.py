"""Loading a config: YAML, ``${ENV}`` interpolation, schema validation, action parameters
validated against their plugin's schema, and compilation of every ``match``.

Every problem is collected with its file, its path inside the file and the reason, so
``falco-response check`` reports them all at once.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
from collections.abc import Iterator, Mapping
from typing import Any, Union

import msgspec
import yaml

from .actions import Action, ActionRegistry, ActionType, Settings
from .approval.rule import ApprovalRule, compile_approval
from .errors import ConfigError, ConfigProblem
from .match_index import ResponseIndex
from .matching import CompiledMatch, MatchError
from .safety import CooldownRule, Limit, compile_cooldown, compile_limit
from .schema import (ActionSpec, ConfigSpec, ResponseSpec, SettingsSpec, namespace_problem,
                     parse_duration)

_ENV = r"\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\})"  # compiled on first use
_AT = r" - at `\$(.*)`$"

ConfigSource = Union[str, "os.PathLike[str]", Mapping[str, Any]]


class BoundAction(msgspec.Struct, frozen=True):
    """A configured action, ready to run: its name, type, callable and overrides."""

    name: str
    type: ActionType
    run: Action
    dry_run: bool | None
    cooldown: CooldownRule | None = None
    undo: Any = None
    """The type's undo callable for these parameters (``falco-response undo``), if any."""
    approval: ApprovalRule | None = None


class Response(msgspec.Struct, frozen=True):
    name: str
    actions: tuple[BoundAction, ...]
    stop: bool
    dry_run: bool | None
    cooldown: CooldownRule | None = None
    approval: ApprovalRule | None = None
    """Applies to the response's destructive actions (an action's own ``approval`` wins)."""


class Config(msgspec.Struct, frozen=True):
    """A loaded, validated config. Build with :func:`load_config`."""

    source: str
    settings: Settings
    action_timeout: float
    alert_deadline: float
    log_level: str
    responses: tuple[Response, ...]
    index: ResponseIndex[Response]
    spec: ConfigSpec
    limits: tuple[Limit, ...] = ()
    audit_retention: float | None = None
    """Seconds to keep audit records; None when the audit trail is off."""
    named: Mapping[str, BoundAction] = msgspec.field(default_factory=dict)
    """The actions of ``actions:`` by name (an approval's ``via`` need not be in a response)."""

    @property
    def has_approvals(self) -> bool:
        return any(r.approval is not None or any(a.approval is not None for a in r.actions)
                   for r in self.responses)

    @property
    def destructive_actions(self) -> list[str]:
        return sorted({f"{r.name}/{a.name}" for r in self.responses for a in r.actions
                       if a.type.destructive})


class _Problems:
    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[ConfigProblem] = []
        self.secrets: dict[str, str] = {}

    def add(self, path: str, reason: str) -> None:
        # Values read from the environment are often secrets: never echo them back.
        for value, name in self.secrets.items():
            reason = reason.replace(value, f"<value of ${{{name}}}>")
        self.items.append(ConfigProblem(self.file, path, reason))

    def validation(self, prefix: str, exc: msgspec.ValidationError) -> None:
        text = str(exc)
        at = re.search(_AT, text)
        inner = at.group(1) if at else ""
        reason = text[: at.start()] if at else text
        self.add(f"{prefix}{inner}".lstrip("."), reason)


def interpolate(data: Any, problems: _Problems, path: str = "") -> Any:
    """Replace ``${NAME}`` (and ``${NAME:-default}``) in every string; ``$$`` is a ``$``."""
    if isinstance(data, str):
        def sub(found: re.Match[str]) -> str:
            if found.group(1) == "$":
                return "$"
            name, default = found.group(2), found.group(3)
            value = os.environ.get(name)
            if value is None:
                if default is not None:
                    return default
                problems.add(path, f"environment variable {name} is not set")
                return ""
            if len(value) >= 4:
                problems.secrets[value] = name
            return value
        return re.sub(_ENV, sub, data) if "$" in data else data
    if isinstance(data, dict):
        return {k: interpolate(v, problems, f"{path}.{k}" if path else str(k))
                for k, v in data.items()}
    if isinstance(data, list):
        return [interpolate(v, problems, f"{path}[{i}]") for i, v in enumerate(data)]
    return data


MAX_YAML_ALIASES = 10_000
MAX_YAML_VALUES = 250_000
"""A config may use anchors and aliases, but its aliases may not add more than this many
values once every one is followed (a "billion laughs" document is refused before it is
built). Values written out count once: a config of 10,000 responses has more."""
MAX_YAML_DEPTH = 64


class _Refused(Exception):
    """The YAML document is too costly to build: the reason says which limit."""


_FLOW_DEPTH_SCAN = 1000
"""Flow brackets nested past this are refused before the parser sees them: libyaml before
0.2.5 (inside PyYAML 6.0.1's wheels) has no depth limit of its own and overflows the C stack."""
_BRACKETS = re.compile(r"[\[\]{}]")


def _flow_depth_exceeds(text: str, limit: int) -> bool:
    """An over-estimate of flow nesting (brackets inside quotes count too), so it can only
    refuse documents nested past ``limit`` in some way; cheap when there are few brackets."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for found in _BRACKETS.finditer(text):
        if found.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        elif depth:
            depth -= 1
    return False


def _load_yaml(text: str) -> Any:
    """Compose the node graph (aliases are shared nodes, so this is cheap whatever they
    expand to), check what it would expand to, and only then build Python objects."""
    if _flow_depth_exceeds(text, _FLOW_DEPTH_SCAN):
        raise _Refused(f"not loaded: nested deeper than {MAX_YAML_DEPTH} levels")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if "&" in text:  # an alias needs an anchor: without one nothing can expand
            _check_expansion(node)
            return loader.construct_document(node)
        return _construct(loader, node, 1)
    finally:
        loader.dispose()


_TAG = "tag:yaml.org,2002:"
_PLAIN_KEYS = frozenset(_TAG + t for t in ("str", "int", "float", "bool", "null"))


def _construct(loader: Any, node: Any, depth: int) -> Any:
    """What ``loader.construct_document(node)`` builds, for a tree without aliases, nesting
    checked on the way down: text, lists and mappings with plain keys directly (most of a
    config), anything else (numbers, merge keys, timestamps...) by the loader itself."""
    if depth > MAX_YAML_DEPTH:
        raise _Refused(f"not loaded: nested deeper than {MAX_YAML_DEPTH} levels")
    tag = node.tag
    if tag == _TAG + "str":
        return node.value
    deeper = depth + 1
    if tag == _TAG + "seq":
        return [_construct(loader, child, deeper) for child in node.value]
    if tag == _TAG + "map" and all(key.tag in _PLAIN_KEYS for key, _ in node.value):
        return {_construct(loader, key, deeper): _construct(loader, value, deeper)
                for key, value in node.value}
    _check_depth(node, depth)
    return loader.construct_object(node, deep=True)


def _check_expansion(root: Any) -> None:
    """Count the values ``root`` expands to, aliases followed, without expanding: each
    node's size is computed once (memoised), iteratively (no recursion)."""
    sizes: dict[int, int] = {}
    aliases = 0
    written = 0  # the distinct nodes, values written out in the text
    on_path: set[int] = set()
    stack: list[tuple[Any, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            on_path.discard(key)
            sizes[key] = total = 1 + sum(sizes[id(c)] for c in children)
            written += 1
            if total > written + MAX_YAML_VALUES:  # what aliases add, at most
                raise _Refused(f"not loaded: the YAML expands to more than {MAX_YAML_VALUES:,} "
                               "values once its aliases are followed (a 'billion laughs'?)")
            continue
        if depth > MAX_YAML_DEPTH:
            raise _Refused(f"not loaded: nested deeper than {MAX_YAML_DEPTH} levels")
        on_path.add(key)
        stack.append((node, depth, True))
        for child in children:
            if id(child) in on_path:
                raise _Refused("not loaded: an alias refers to a value that contains it")
            if id(child) in sizes:
                aliases += 1
                if aliases > MAX_YAML_ALIASES:
                    raise _Refused(f"not loaded: more than {MAX_YAML_ALIASES:,} YAML aliases")
                continue
            stack.append((child, depth + 1, False))


def _check_depth(root: Any, depth: int) -> None:
    """The nesting limit below ``root`` (at ``depth``), level by level (no recursion)."""
    level = [root]
    while level:
        if depth > MAX_YAML_DEPTH:
            raise _Refused(f"not loaded: nested deeper than {MAX_YAML_DEPTH} levels")
        deeper: list[Any] = []
        for node in level:
            if isinstance(node, yaml.SequenceNode):
                deeper.extend(node.value)
            elif isinstance(node, yaml.MappingNode):
                for pair in node.value:
                    deeper.extend(pair)
        level, depth = deeper, depth + 1


def _children(node: Any) -> list[Any]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _read(source: ConfigSource) -> tuple[str, Any]:
    if isinstance(source, Mapping):
        return "<dict>", dict(source)
    path = os.fspath(source)
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigProblem(path, "", f"cannot read: {exc}")]) from None
    if path.endswith(".json") or text.lstrip()[:1] == "{":
        try:  # JSON is YAML too, and a generated config of thousands reads 100x faster so
            return str(path), msgspec.json.decode(text)
        except msgspec.DecodeError:
            pass  # YAML's flow style also starts with "{": let the YAML parser judge
    try:
        return str(path), _load_yaml(text)
    except _Refused as exc:
        raise ConfigError([ConfigProblem(str(path), "", str(exc))]) from None
    except RecursionError:  # the pure-Python loader, without libyaml's own depth limit
        raise ConfigError([ConfigProblem(str(path), "", f"not loaded: nested deeper than "
                                         f"{MAX_YAML_DEPTH} levels")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([ConfigProblem(str(path), where, f"not valid YAML: {problem}")]) from None


def _convert(data: Any, kind: type[Any], prefix: str, problems: _Problems) -> Any:
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        problems.validation(prefix, exc)
        return None


def _approval(spec: Any, path: str, via_types: dict[str, str],
              problems: _Problems) -> ApprovalRule | None:
    if spec is None:
        return None
    try:
        return compile_approval(spec, via_types)
    except ValueError as exc:
        where, reason = exc.args
        problems.add(f"{path}.{where}", reason)
        return None


def _bind(spec: ActionSpec, name: str, path: str, registry: ActionRegistry,
          problems: _Problems, via_types: dict[str, str] | None = None) -> BoundAction | None:
    action_type = registry.get(spec.type)
    if action_type is None:
        known = ", ".join(registry.names()) or "none"
        problems.add(f"{path}.type", f"unknown action type {spec.type!r} (installed: {known})")
        return None
    params = _convert(spec.with_, action_type.params, f"{path}.with", problems)
    if params is None:
        return None
    try:
        run = action_type.factory(params)
    except (ValueError, TypeError) as exc:
        problems.add(f"{path}.with", str(exc))
        return None
    cooldown = _cooldown(spec.cooldown, f"{path}.cooldown", problems)
    undo = action_type.undo(params) if action_type.undo is not None else None
    approval = _approval(spec.approval, f"{path}.approval", via_types or {}, problems)
    if approval is not None and approval.via == name:
        problems.add(f"{path}.approval.via", "an approval cannot be posted by the action it "
                     "guards")
    return BoundAction(name, action_type, run, spec.dry_run, cooldown, undo, approval)


def _cooldown(spec: Any, path: str, problems: _Problems) -> CooldownRule | None:
    if spec is None:
        return None
    try:
        return compile_cooldown(spec)
    except ValueError as exc:
        problems.add(path, str(exc))
        return None


def _compile_response(spec: ResponseSpec, path: str, named: dict[str, BoundAction | None],
                      registry: ActionRegistry, problems: _Problems,
                      via_types: dict[str, str] | None = None
                      ) -> tuple[CompiledMatch, Response] | None:
    bound: list[BoundAction] = []
    ok = True
    for i, ref in enumerate(spec.actions):
        if isinstance(ref, str):
            if ref not in named:
                problems.add(f"{path}.actions[{i}]", f"no action named {ref!r} in 'actions'")
                ok = False
            elif named[ref] is not None:
                bound.append(named[ref])  # type: ignore[arg-type]
            else:
                ok = False
        else:
            action = _bind(ref, ref.type, f"{path}.actions[{i}]", registry, problems, via_types)
            ok = ok and action is not None
            if action is not None:
                bound.append(action)
    if not spec.actions:
        problems.add(f"{path}.actions", "a response needs at least one action")
        ok = False
    try:
        match = CompiledMatch(spec.match)
    except MatchError as exc:
        problems.add(f"{path}.match.{exc.path}", str(exc))
        return None
    cooldown = _cooldown(spec.cooldown, f"{path}.cooldown", problems)
    approval = _approval(spec.approval, f"{path}.approval", via_types or {}, problems)
    if not ok:
        return None
    return match, Response(spec.name, tuple(bound), spec.stop, spec.dry_run, cooldown, approval)


def read_config(source: ConfigSource) -> tuple[str, Any]:
    """(file name, parsed YAML): what :func:`load_config` starts from."""
    with _collector_paused():
        return _read(source)


def action_types_in(raw: Any) -> set[str] | None:
    """The action types a raw config names (named and inline actions, per-type limits), read
    before any plugin loads; None when that cannot be told without interpolation."""
    if not isinstance(raw, dict):
        return None
    specs: list[Any] = []
    actions = raw.get("actions")
    if isinstance(actions, dict):
        specs += actions.values()
    for response in raw.get("responses") or ():
        if isinstance(response, dict) and isinstance(response.get("actions"), list):
            specs += [a for a in response["actions"] if isinstance(a, dict)]
    types = [spec.get("type") if isinstance(spec, dict) else None for spec in specs]
    settings = raw.get("settings")
    limits = settings.get("limits") if isinstance(settings, dict) else None
    if isinstance(limits, dict):
        types += [name for name in limits if name != "destructive"]
    named = [t for t in types if isinstance(t, str) and "$" not in t]
    return set(named) if len(named) == len(types) else None


def load_config(source: ConfigSource, registry: ActionRegistry,
                read: tuple[str, Any] | None = None) -> Config:
    """Read (unless ``read`` is what :func:`read_config` returned), interpolate, validate and
    compile a config. Raises :class:`ConfigError`."""
    with _collector_paused():
        return _load_config(read or _read(source), registry)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """A config of thousands of responses allocates hundreds of thousands of objects that all
    live on: the cyclic collector would rescan them again and again (4/5 of the load time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load_config(read: tuple[str, Any], registry: ActionRegistry) -> Config:
    file, raw = read
    problems = _Problems(file)
    if not isinstance(raw, dict):
        raise ConfigError([ConfigProblem(file, "", "the config must be a YAML mapping")])
    data = interpolate(raw, problems)

    # Validate piece by piece so one bad response does not hide the problems of the next.
    pieces = {k: data.get(k) for k in ("settings", "actions", "responses")}
    top = {k: v for k, v in data.items() if k not in pieces}
    top_spec = _convert(top, ConfigSpec, "", problems)
    settings_spec = _convert({} if pieces["settings"] is None else pieces["settings"], SettingsSpec, "settings", problems)

    named: dict[str, BoundAction | None] = {}
    action_specs: dict[str, ActionSpec] = {}
    actions_raw = {} if pieces["actions"] is None else pieces["actions"]
    if not isinstance(actions_raw, dict):
        problems.add("actions", "must be a mapping of action names to {type, with}")
        actions_raw = {}
    specs = {str(name): _convert(raw_action, ActionSpec, f"actions.{name}", problems)
             for name, raw_action in actions_raw.items()}
    via_types = {name: spec.type for name, spec in specs.items() if spec is not None}
    for name, spec in specs.items():
        if spec is not None:
            action_specs[name] = spec
        named[name] = (_bind(spec, name, f"actions.{name}", registry, problems, via_types)
                       if spec is not None else None)

    responses_raw = [] if pieces["responses"] is None else pieces["responses"]
    if not isinstance(responses_raw, list):
        problems.add("responses", "must be a list of responses")
        responses_raw = []
    compiled: list[tuple[CompiledMatch, Response]] = []
    response_specs: list[ResponseSpec] = []
    seen: dict[str, int] = {}
    for i, raw_response in enumerate(responses_raw):
        path = f"responses[{i}]"
        spec = _convert(raw_response, ResponseSpec, path, problems)
        if spec is None:
            continue
        response_specs.append(spec)
        if spec.name in seen:
            problems.add(f"{path}.name", f"duplicate response name {spec.name!r} "
                                         f"(also responses[{seen[spec.name]}])")
        seen[spec.name] = i
        result = _compile_response(spec, path, named, registry, problems, via_types)
        if result is not None:
            compiled.append(result)

    timeouts: dict[str, float] = {}
    limits: list[Limit] = []
    retention: float | None = None
    if settings_spec is not None:
        for i, namespace in enumerate(settings_spec.protected_namespaces):
            problem = namespace_problem(namespace)
            if problem is not None:
                problems.add(f"settings.protected_namespaces[{i}]", problem)
        for key in ("action_timeout", "alert_deadline"):
            try:
                timeouts[key] = parse_duration(getattr(settings_spec, key))
            except ValueError as exc:
                problems.add(f"settings.{key}", str(exc))
        for name, limit in settings_spec.limits.items():
            if name != "destructive" and registry.get(name) is None:
                problems.add(f"settings.limits.{name}", "not 'destructive' nor an installed "
                             f"action type ({', '.join(registry.names())})")
                continue
            try:
                limits.append(compile_limit(name, limit))
            except ValueError as exc:
                problems.add(f"settings.limits.{name}", str(exc))
        if settings_spec.audit.enabled:
            try:
                retention = parse_duration(settings_spec.audit.retention)
            except ValueError as exc:
                problems.add("settings.audit.retention", str(exc))
        if settings_spec.store is not None:
            from .state.urls import check_store_url

            store_problem = check_store_url(settings_spec.store)
            if store_problem is not None:
                problems.add("settings.store", store_problem)
    if problems.items:
        raise ConfigError(problems.items)
    assert settings_spec is not None and top_spec is not None
    # The pieces were converted above: convert the whole once more and a big config pays twice.
    full = ConfigSpec(version=top_spec.version, settings=settings_spec, actions=action_specs,
                      responses=response_specs)
    return Config(
        source=file,
        settings=Settings(dry_run=settings_spec.dry_run,
                          protected_namespaces=frozenset(settings_spec.protected_namespaces),
                          store=settings_spec.store),
        action_timeout=timeouts["action_timeout"],
        alert_deadline=timeouts["alert_deadline"],
        log_level=settings_spec.log_level,
        responses=tuple(r for _, r in compiled),
        index=ResponseIndex(compiled, [r.stop for _, r in compiled]),
        spec=full,
        limits=tuple(limits),
        audit_retention=retention,
        named={k: v for k, v in named.items() if v is not None},
    )
