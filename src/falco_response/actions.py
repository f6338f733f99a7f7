"""Action types and the context an action runs in.

A plugin registers an *action type* through the ``register_actions`` hook::

    class Params(msgspec.Struct, forbid_unknown_fields=True):
        channel: str

    def make(params: Params) -> Action:
        def run(ctx: ActionContext) -> Outcome:
            return ctx.ok(target=f"channel:{params.channel}", reason="sent")
        return run

    @hookimpl
    def register_actions(register):
        register("my-action", make, params=Params, summary="Posts to my chat")

``make`` runs once per configured action, at config load (so bad settings fail at startup,
not on the first alert); it must not import heavy libraries: do that on first call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import msgspec

from .alert import Alert
from .errors import PluginError
from .outcome import Outcome, OutcomeBuilders, Status
from .schema import DEFAULT_PROTECTED

SCOPES = ("pod", "node")
"""What an action type's ``scope`` may be: the kind of object its default cooldown key names."""


class NoParams(msgspec.Struct, forbid_unknown_fields=True):
    """The parameter schema of an action type that takes none."""


class Settings(msgspec.Struct, frozen=True):
    """The ``settings`` block of the config, as actions see it."""

    dry_run: bool = False
    protected_namespaces: frozenset[str] = frozenset(DEFAULT_PROTECTED)
    store: str | None = None


class ActionContext(msgspec.Struct, OutcomeBuilders):
    """Everything an action may use for one alert.

    Fields: ``alert`` (the parsed alert); ``response`` and ``action`` (the names in the
    config); ``type`` (the action type); ``dry_run`` (report what would happen, change
    nothing); ``settings`` (the config's ``settings`` block); ``log`` (a structlog logger
    bound to the alert and action); ``deadline`` (a ``time.monotonic()`` value the action
    must finish by); ``previous`` (the outcomes of the actions that ran before this one in
    the same response: a notifier says what containment did); ``started`` (when the action
    started, ``time.monotonic()``); ``suppressed`` (alerts suppressed by the cooldown since
    this action last ran); ``approval`` (set only for the notifier an ``approval.via`` names:
    the approval request or update to post instead of the alert).

    Methods: :meth:`remaining` (seconds left before the deadline) and the outcome builders
    :meth:`ok`, :meth:`skipped`, :meth:`would` (the dry-run outcome), :meth:`failed` and
    :meth:`pending` (awaiting a person's decision; the engine's approval step builds these).
    """

    alert: Alert
    response: str
    action: str
    type: str
    dry_run: bool
    settings: Settings
    log: Any
    deadline: float
    previous: Sequence[Outcome] = ()
    started: float = msgspec.field(default_factory=time.monotonic)
    suppressed: int = 0
    """How many alerts for the same cooldown key were suppressed since this action last ran
    (a notifier says "and 1,234 more like it")."""
    approval: Any = None
    """Set only for the action an ``approval.via`` names, when it posts an approval request
    or its update: a :class:`falco_response.approval.Notice` to render instead of the alert."""

    def _outcome(self, status: Status, target: str | None, reason: str | None,
                 detail: dict[str, Any] | None) -> Outcome:
        return Outcome(self.response, self.action, self.type, status, target, reason,
                       detail or {}, (time.monotonic() - self.started) * 1000.0)

    def pending(self, reason: str, target: str | None = None,
                detail: dict[str, Any] | None = None) -> Outcome:
        """Awaiting a person's decision (the engine's approval step builds these)."""
        return self._outcome(Status.PENDING, target, reason, detail)


class Action(Protocol):
    """A configured action: called once per alert, returns one outcome, should not raise."""

    def __call__(self, ctx: ActionContext) -> Outcome: ...


ActionFactory = Callable[[Any], Action]
UndoFactory = Callable[[Any], Callable[[Any], Outcome]]
"""``undo(params)`` -> a callable taking an :class:`falco_response.undo.UndoContext`: how a
reversible action type reverses one recorded outcome (see ``docs/hooks.md``)."""


class ActionType(msgspec.Struct, frozen=True):
    """What a plugin registers: a name, a factory, its parameter schema and its nature.

    ``destructive`` types change the cluster (delete, taint, isolate): protected namespaces,
    dry-run and the safety limits apply to them. ``permissions`` lists what the type needs
    (RBAC verbs, IAM actions) for the reference docs. ``scope`` (``pod`` or ``node``) says
    what the default cooldown key's target is. ``blocking=False`` declares that the action
    never waits on I/O, so the engine calls it inline instead of in a worker thread with a
    timeout. ``undo`` (reversible types only) is a factory like ``factory``: given the
    parameters it returns the callable ``falco-response undo`` runs with an ``UndoContext``.
    """

    name: str
    factory: ActionFactory
    params: type[msgspec.Struct] = NoParams
    destructive: bool = False
    summary: str = ""
    permissions: tuple[str, ...] = ()
    plugin: str = ""
    scope: str = "pod"
    blocking: bool = True
    undo: UndoFactory | None = None


class RegisterAction(Protocol):
    """The callback ``register_actions`` receives."""

    def __call__(self, name: str, factory: ActionFactory, *,
                 params: type[msgspec.Struct] = NoParams, destructive: bool = False,
                 summary: str = "", permissions: Sequence[str] = (), scope: str = "pod",
                 blocking: bool = True, undo: UndoFactory | None = None) -> None: ...


class DuplicateActionType(PluginError):
    """Two plugins registered the same action type name."""


class InvalidActionType(PluginError):
    """A plugin registered an action type with an argument outside its contract."""


class ActionRegistry:
    """Action types by name; the core owns naming, so two plugins cannot silently collide."""

    def __init__(self) -> None:
        self._types: dict[str, ActionType] = {}

    def register_for(self, plugin: str) -> RegisterAction:
        def register(name: str, factory: ActionFactory, *,
                     params: type[msgspec.Struct] = NoParams, destructive: bool = False,
                     summary: str = "", permissions: Sequence[str] = (), scope: str = "pod",
                     blocking: bool = True, undo: UndoFactory | None = None) -> None:
            if name in self._types:
                other = self._types[name].plugin
                raise DuplicateActionType(
                    f"action type {name!r} registered by both {other!r} and {plugin!r}")
            if scope not in SCOPES:
                raise InvalidActionType(
                    f"plugin {plugin!r}, action type {name!r}: scope must be one of "
                    f"{', '.join(SCOPES)}, not {scope!r}")
            self._types[name] = ActionType(name, factory, params, destructive, summary,
                                           tuple(permissions), plugin, scope, blocking, undo)
        return register

    def get(self, name: str) -> ActionType | None:
        return self._types.get(name)

    def names(self) -> list[str]:
        return sorted(self._types)

    def __iter__(self) -> Any:
        return iter(sorted(self._types.values(), key=lambda t: t.name))

    def __len__(self) -> int:
        return len(self._types)

