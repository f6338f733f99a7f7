"""Safe automation: cooldowns (act once per rule and target per period) and blast-radius
limits (at most N destructive actions in any window), both held in the shared state store so
they hold across replicas and Lambda invocations.

Both are built on the store's one atomic primitive, ``claim(key, ttl)``:

- a cooldown is a claim on ``cooldown:<response>:<action>:<hash of the key parts>``;
- a limit of ``max`` per ``per`` is ``max`` slots, ``limit:<name>:<i>``, each claimed for
  ``per`` seconds by one action: a sliding window, exact under any concurrency.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import msgspec

from .alert import Alert
from .outcome import Status
from .state.base import StoreError
from .schema import CooldownSpec, LimitSpec, parse_duration

if TYPE_CHECKING:
    from .actions import ActionContext
    from .outcome import Outcome
    from .state.base import StateStore

KEY_PARTS = ("rule", "target", "response", "action", "priority", "source", "node", "pod",
             "namespace", "container")
"""What a cooldown key may be made of, besides ``fields.<output field>``."""


def human(seconds: float) -> str:
    """``600`` -> ``"10m"``, for reasons people read."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds) // size}{unit}"
    return f"{seconds:g}s"


class CooldownRule(msgspec.Struct, frozen=True):
    seconds: float
    key: tuple[str, ...]
    label: str = ""


def compile_cooldown(spec: Any) -> CooldownRule:
    """A ``cooldown:`` value to a rule; ``ValueError`` says what is wrong."""
    if isinstance(spec, CooldownSpec):
        seconds, key = parse_duration(spec.for_), tuple(spec.key)
    else:
        seconds, key = parse_duration(spec), ("rule", "target")
    if not key:
        raise ValueError("a cooldown key needs at least one part")
    for part in key:
        if part not in KEY_PARTS and not (part.startswith("fields.") and len(part) > 7):
            raise ValueError(f"unknown cooldown key part {part!r} (use {', '.join(KEY_PARTS)} "
                             "or fields.<output field>)")
    return CooldownRule(seconds, key, human(seconds))


def default_target(alert: Alert, scope: str) -> str | None:
    """The target an action of ``scope`` would act on, as named by the alert itself."""
    node = alert.node_name
    if scope == "node":
        return f"node:{node}" if node else None
    namespace, pod = alert.pod_namespace, alert.pod_name
    if namespace and pod:
        return f"pod:{namespace}/{pod}"
    container = alert.container_id
    if container:
        return f"container:{container}@{node or '?'}"
    return f"node:{node}" if node else None


_PART_VALUES: dict[str, Callable[[Alert, str, str, str | None], object]] = {
    "rule": lambda a, r, x, t: a.rule,
    "target": lambda a, r, x, t: t,
    "response": lambda a, r, x, t: r,
    "action": lambda a, r, x, t: x,
    "priority": lambda a, r, x, t: a.priority.label,
    "source": lambda a, r, x, t: a.source,
    "node": lambda a, r, x, t: a.node_name,
    "pod": lambda a, r, x, t: f"{a.pod_namespace}/{a.pod_name}",
    "namespace": lambda a, r, x, t: a.pod_namespace,
    "container": lambda a, r, x, t: a.container_id,
}


def cooldown_key(rule: CooldownRule, alert: Alert, response: str, action: str,
                 target: str | None) -> str:
    """A bounded key: alert fields are attacker-influenced and may be long."""
    import hashlib

    parts = [str(alert.field(p[7:]) if p.startswith("fields.")
                 else _PART_VALUES[p](alert, response, action, target)) for p in rule.key]
    # repr: unambiguous (a part holding the separator cannot shift into the next part) and
    # ASCII-safe for any text, lone surrogates included.
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    return f"cooldown:{response}:{action}:{digest}"


class Limit(msgspec.Struct, frozen=True):
    """``settings.limits.<name>``: ``destructive`` (every destructive type) or one type."""

    name: str
    max: int
    seconds: float

    def applies_to(self, type_name: str, destructive: bool) -> bool:
        return self.name == type_name or (self.name == "destructive" and destructive)

    def slot_keys(self) -> list[str]:
        return [f"limit:{self.name}:{i}" for i in range(self.max)]

    def paused(self) -> str:
        return (f"blast_radius: containment paused: {self.max} {self.name} actions in "
                f"{human(self.seconds)} (settings.limits.{self.name})")


def compile_limit(name: str, spec: LimitSpec) -> Limit:
    if spec.max < 1:
        raise ValueError("max must be at least 1 (remove the limit or use dry_run instead)")
    if spec.max > 1000:
        raise ValueError("max above 1000 is not a limit")
    return Limit(name, spec.max, parse_duration(spec.per))


class Ticket(msgspec.Struct):
    """What :meth:`Safeguards.enter` holds for one action: released if it did not act.
    A dry run's ticket holds keys in the engine's private rehearsal store, never the shared one."""

    cooldown_key: str | None = None
    slots: tuple[str, ...] = ()
    dry_run: bool = False


_ACTED = (Status.OK, Status.DRY_RUN)
"""A dry run that says what it would do used its rehearsal slot, as an ``ok`` uses a live one."""


def _unavailable(what: str, exc: Exception) -> str:
    text = str(exc) if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}"
    return f"state store unavailable, not acting without the {what} check: {text}"[:500]


class Safeguards:
    """Cooldowns and limits for one engine, on one store (see the module docstring).

    Cooldown skips are counted, not recorded one by one: the count reaches the next outcome
    for the same key (``N similar alerts suppressed``) and ``ctx.suppressed``.

    A store that fails (any exception, not only :class:`StoreError`) makes a destructive action
    fail closed and a notification run without its cooldown. Dry runs only *read* the shared
    store (:meth:`StateStore.held`); what a dry run would have claimed is kept in ``rehearsal``,
    this engine's own memory, so a replay of 1,000 alerts says what a live run would do.
    """

    def __init__(self, store: StateStore, limits: tuple[Limit, ...]) -> None:
        from .state.memory import MemoryStore

        self.store = store
        self.limits = limits
        self.rehearsal = MemoryStore()
        self.failures = 0
        """Store failures met (cooldown, limit and release steps): the engine counts them."""

    def enter(self, ctx: ActionContext, destructive: bool, scope: str,
              cooldown: CooldownRule | None) -> tuple[Outcome | None, Ticket]:
        """Either ``(outcome, ticket)`` when the action must not run, or ``(None, ticket)``."""
        if ctx.dry_run:
            return self._rehearse(ctx, destructive, scope, cooldown)
        ticket = Ticket()
        target = default_target(ctx.alert, scope)
        if cooldown is not None:
            key = cooldown_key(cooldown, ctx.alert, ctx.response, ctx.action, target)
            try:
                if not self.store.claim(key, cooldown.seconds):
                    count = self.store.incr(f"{key}#suppressed", cooldown.seconds * 2)
                    what = "node" if scope == "node" else "target"
                    return ctx.skipped(
                        f"cooldown: already ran for this rule and {what} within "
                        f"{cooldown.label} ({count} suppressed so far)", target=target,
                        detail={"cooldown": True, "suppressed": count}), ticket
                ticket.cooldown_key = key
                ctx.suppressed = self.store.take(f"{key}#suppressed")
            except Exception as exc:
                self.failures += 1
                if destructive:
                    self._release(ticket.cooldown_key, ())
                    return ctx.failed(_unavailable("cooldown", exc), target=target), ticket
                ctx.log.warning("cooldown skipped: state store unavailable",
                                error=str(exc)[:300], action=ctx.action)
        if destructive:
            slots: list[str] = []
            for limit in self.limits:
                if not limit.applies_to(ctx.type, destructive):
                    continue
                try:
                    slot = next((k for k in limit.slot_keys()
                                 if self.store.claim(k, limit.seconds)), None)
                except Exception as exc:
                    self.failures += 1
                    self._release(ticket.cooldown_key, slots)
                    return ctx.failed(_unavailable("blast-radius", exc),
                                      target=target), ticket
                if slot is None:
                    self._release(ticket.cooldown_key, slots)
                    return ctx.skipped(limit.paused(), target=target,
                                       detail={"blast_radius": limit.name}), ticket
                slots.append(slot)
            ticket.slots = tuple(slots)
        return None, ticket

    def _held(self, key: str) -> bool:
        held = getattr(self.store, "held", None)
        return bool(held(key)) if held is not None else False

    def _rehearse(self, ctx: ActionContext, destructive: bool, scope: str,
                  cooldown: CooldownRule | None) -> tuple[Outcome | None, Ticket]:
        """A dry run: what a live run would meet, from reads of the shared store and this
        engine's rehearsal store. Nothing shared is written."""
        ticket = Ticket(dry_run=True)
        target = default_target(ctx.alert, scope)
        mine = self.rehearsal
        if cooldown is not None:
            key = cooldown_key(cooldown, ctx.alert, ctx.response, ctx.action, target)
            what = "node" if scope == "node" else "target"
            try:
                if self._held(key):
                    return ctx.skipped(f"dry run: would be suppressed by a cooldown: already "
                                       f"ran for this rule and {what} within {cooldown.label}",
                                       target=target, detail={"cooldown": True}), ticket
            except Exception as exc:
                self.failures += 1
                if destructive:
                    return ctx.failed("dry run: a live run would fail: "
                                      + _unavailable("cooldown", exc), target=target), ticket
            if not mine.claim(key, cooldown.seconds):
                return ctx.skipped(f"dry run: would be suppressed by a cooldown: this dry run "
                                   f"already ran it for this rule and {what} within "
                                   f"{cooldown.label}", target=target,
                                   detail={"cooldown": True}), ticket
            ticket.cooldown_key = key
        if destructive:
            slots: list[str] = []
            for limit in self.limits:
                if not limit.applies_to(ctx.type, destructive):
                    continue
                try:
                    slot = next((k for k in limit.slot_keys()
                                 if not self._held(k) and mine.claim(k, limit.seconds)), None)
                except Exception as exc:
                    self.failures += 1
                    self._release_rehearsal(ticket.cooldown_key, slots)
                    return ctx.failed("dry run: a live run would fail: "
                                      + _unavailable("blast-radius", exc),
                                      target=target), ticket
                if slot is None:
                    self._release_rehearsal(ticket.cooldown_key, slots)
                    return ctx.skipped(f"dry run: would exceed the limit: {limit.paused()}",
                                       target=target, detail={"blast_radius": limit.name}), ticket
                slots.append(slot)
            ticket.slots = tuple(slots)
        return None, ticket

    def leave(self, ticket: Ticket, outcome: Outcome) -> None:
        """Give back what an action did not use: slots unless it acted, the cooldown when it
        failed (so a redelivery acts). A dry run "acts" when it says what it would do."""
        status = outcome.status
        if ticket.dry_run:
            self._release_rehearsal(ticket.cooldown_key if status is Status.FAILED else None,
                                    () if status in _ACTED else ticket.slots)
            return
        self._release(ticket.cooldown_key if status is Status.FAILED else None,
                      () if status is Status.OK else ticket.slots)

    def _release(self, cooldown: str | None, slots: Iterable[str]) -> None:
        try:
            for key in (cooldown, *slots):
                if key is not None:
                    self.store.release(key)
        except Exception:
            self.failures += 1  # they expire on their own

    def _release_rehearsal(self, cooldown: str | None, slots: Iterable[str]) -> None:
        for key in (cooldown, *slots):
            if key is not None:
                self.rehearsal.release(key)
