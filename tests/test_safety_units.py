"""safety.py piece by piece: the words people read (durations, reasons), default targets,
cooldown keys, and every branch of ``Safeguards`` live and in a dry run, on a real store."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
import structlog

from falco_response.actions import ActionContext, Settings
from falco_response.alert import Alert, Priority
from falco_response.outcome import Status
from falco_response.safety import (CooldownRule, Limit, Safeguards, Ticket, compile_cooldown,
                                   compile_limit, cooldown_key, default_target, human)
from falco_response.schema import CooldownSpec, LimitSpec
from falco_response.state import StoreError
from falco_response.state.memory import MemoryStore

from .conftest import make_alert


@pytest.mark.parametrize("seconds, text", [(600, "10m"), (60, "1m"), (120, "2m"),
                                           (3600, "1h"), (7200, "2h"), (86400, "1d"),
                                           (172800, "2d"), (3660, "61m"), (90, "90s"),
                                           (0.5, "0.5s"), (59, "59s"), (86460, "1441m")])
def test_human_durations(seconds: float, text: str) -> None:
    assert human(seconds) == text


def test_compile_cooldown() -> None:
    assert compile_cooldown("10m") == CooldownRule(600.0, ("rule", "target"), "10m")
    assert compile_cooldown(CooldownSpec(for_="1h", key=["node"])) == CooldownRule(
        3600.0, ("node",), "1h")
    with pytest.raises(ValueError) as info:
        compile_cooldown(CooldownSpec(for_="1m", key=[]))
    assert str(info.value) == "a cooldown key needs at least one part"
    with pytest.raises(ValueError) as info:
        compile_cooldown(CooldownSpec(for_="1m", key=["colour"]))
    assert str(info.value) == (
        "unknown cooldown key part 'colour' (use rule, target, response, action, priority, "
        "source, node, pod, namespace, container or fields.<output field>)")
    assert compile_cooldown(CooldownSpec(for_="1m", key=["fields.x"])).key == ("fields.x",)


def alert(**fields: Any) -> Alert:
    return make_alert(hostname=fields.pop("hostname", None), output_fields=fields)


@pytest.mark.parametrize("fields, scope, target", [
    ({"k8s.ns.name": "a", "k8s.pod.name": "p", "hostname": "n"}, "pod", "pod:a/p"),
    ({"k8s.ns.name": "a", "k8s.pod.name": "p", "hostname": "n"}, "node", "node:n"),
    ({"k8s.ns.name": "a", "k8s.pod.name": "p"}, "node", None),
    ({"k8s.ns.name": "a", "container.id": "c1", "hostname": "n"}, "pod", "container:c1@n"),
    ({"k8s.pod.name": "p", "container.id": "c1"}, "pod", "container:c1@?"),
    ({"hostname": "n"}, "pod", "node:n"),
    ({}, "pod", None),
])
def test_default_target(fields: dict[str, Any], scope: str, target: str | None) -> None:
    assert default_target(alert(**fields), scope) == target


def test_cooldown_key_shape() -> None:
    rule = CooldownRule(60, ("rule", "target"))
    a = alert(**{"k8s.ns.name": "a", "k8s.pod.name": "p"})
    key = cooldown_key(rule, a, "resp", "act", "pod:a/p")
    prefix, response, action, digest = key.split(":")
    assert (prefix, response, action, len(digest)) == ("cooldown", "resp", "act", 32)
    assert int(digest, 16) >= 0
    assert key == cooldown_key(rule, a, "resp", "act", "pod:a/p")
    assert key != cooldown_key(rule, a, "resp", "act", "pod:a/q")
    assert cooldown_key(CooldownRule(60, ("response",)), a, "r1", "x", None).split(":")[3] != \
        cooldown_key(CooldownRule(60, ("response",)), a, "r2", "x", None).split(":")[3]
    assert cooldown_key(CooldownRule(60, ("action",)), a, "r", "x1", None).split(":")[3] != \
        cooldown_key(CooldownRule(60, ("action",)), a, "r", "x2", None).split(":")[3]
    # Field values are the attacker's: a lone surrogate (an Alert built in Python) is hashed,
    # not raised on.
    odd = msgspec.structs.replace(a, output_fields={"x": "\ud800"})
    assert cooldown_key(CooldownRule(60, ("fields.x",)), odd, "r", "a", None).startswith(
        "cooldown:r:a:")


def test_limits() -> None:
    assert compile_limit("zap", LimitSpec(max=2, per="10m")) == Limit("zap", 2, 600.0)
    assert Limit("zap", 2, 600).slot_keys() == ["limit:zap:0", "limit:zap:1"]
    assert Limit("destructive", 5, 600).paused() == (
        "blast_radius: containment paused: 5 destructive actions in 10m "
        "(settings.limits.destructive)")
    assert Limit("zap", 1, 3600).paused() == (
        "blast_radius: containment paused: 1 zap actions in 1h (settings.limits.zap)")
    assert Limit("zap", 1, 1).applies_to("zap", False)
    assert not Limit("zap", 1, 1).applies_to("other", True)
    assert Limit("destructive", 1, 1).applies_to("other", True)
    assert not Limit("destructive", 1, 1).applies_to("other", False)
    for bad, text in ((0, "max must be at least 1 (remove the limit or use dry_run instead)"),
                      (1001, "max above 1000 is not a limit")):
        with pytest.raises(ValueError) as info:
            compile_limit("zap", LimitSpec(max=bad, per="1m"))
        assert str(info.value) == text


# -- Safeguards ---------------------------------------------------------------------------


class Store(MemoryStore):
    """A memory store that raises ``fail`` for the operations named in ``failing``."""

    def __init__(self) -> None:
        super().__init__()
        self.failing: set[str] = set()
        self.fail: Exception = StoreError("table unreachable")

    def _check(self, op: str, key: str) -> None:
        if op in self.failing or f"{op}:{key.split(':')[0]}" in self.failing:
            raise self.fail

    def claim(self, key: str, ttl_seconds: float) -> bool:
        self._check("claim", key)
        return super().claim(key, ttl_seconds)

    def held(self, key: str) -> bool:
        self._check("held", key)
        return super().held(key)

    def take(self, key: str) -> int:
        self._check("take", key)
        return super().take(key)

    def release(self, key: str) -> None:
        self._check("release", key)
        super().release(key)


POD = {"k8s.ns.name": "payments", "k8s.pod.name": "api-1", "hostname": "node-1"}
COOL = CooldownRule(600, ("rule", "target"), "10m")


def ctx(dry_run: bool = False, type_name: str = "zap") -> ActionContext:
    return ActionContext(alert=alert(**POD), response="r", action="a", type=type_name,
                         dry_run=dry_run, settings=Settings(), log=structlog.get_logger(),
                         deadline=1e12)


def guards(store: Any = None, *limits: Limit) -> Safeguards:
    return Safeguards(store if store is not None else Store(), limits)


def reason(result: tuple[Any, Ticket]) -> tuple[str | None, str | None, Any]:
    outcome = result[0]
    if outcome is None:
        return None, None, None
    return outcome.status.value, outcome.reason, outcome.detail


def test_live_cooldown_skips_count_and_the_count_reaches_the_next_run() -> None:
    g = guards()
    outcome, ticket = g.enter(ctx(), True, "pod", COOL)
    assert outcome is None and ticket.cooldown_key is not None and not ticket.dry_run
    assert reason(g.enter(ctx(), True, "pod", COOL)) == (
        "skipped", "cooldown: already ran for this rule and target within 10m (1 suppressed "
        "so far)", {"cooldown": True, "suppressed": 1})
    assert reason(g.enter(ctx(), True, "pod", COOL))[1] == (
        "cooldown: already ran for this rule and target within 10m (2 suppressed so far)")
    assert g.enter(ctx(), False, "node", COOL)[0] is None
    assert reason(g.enter(ctx(), False, "node", COOL))[1] == (
        "cooldown: already ran for this rule and node within 10m (1 suppressed so far)")
    g.store.release(ticket.cooldown_key)
    c = ctx()
    assert g.enter(c, True, "pod", COOL)[0] is None and c.suppressed == 2


def test_a_skip_names_the_default_target() -> None:
    g = guards()
    g.enter(ctx(), True, "pod", COOL)
    assert g.enter(ctx(), True, "pod", COOL)[0].target == "pod:payments/api-1"
    g2 = guards()
    g2.enter(ctx(), True, "node", COOL)
    assert g2.enter(ctx(), True, "node", COOL)[0].target == "node:node-1"


@pytest.mark.parametrize("fail, text", [
    (StoreError("table unreachable"), "table unreachable"),
    (ConnectionError("reset"), "ConnectionError: reset"),
])
@pytest.mark.parametrize("op, check", [("claim:cooldown", "cooldown"), ("take", "cooldown"),
                                       ("claim:limit", "blast-radius")])
def test_live_store_failures_fail_closed(fail: Exception, text: str, op: str,
                                         check: str) -> None:
    store = Store()
    store.failing, store.fail = {op}, fail
    g = guards(store, Limit("destructive", 2, 600))
    status, why, _ = reason(g.enter(ctx(), True, "pod", COOL))
    assert status == "failed"
    assert why == f"state store unavailable, not acting without the {check} check: {text}"
    assert g.failures == 1
    assert not store._claims  # nothing left claimed


def test_a_store_failure_reason_is_bounded() -> None:
    store = Store()
    store.failing, store.fail = {"claim"}, StoreError("x" * 2000)
    why = reason(guards(store).enter(ctx(), True, "pod", COOL))[1]
    assert why is not None and len(why) == 500


def test_a_notifier_goes_on_without_its_cooldown() -> None:
    store = Store()
    store.failing = {"claim"}
    g = guards(store, Limit("destructive", 1, 600))
    assert g.enter(ctx(), False, "pod", COOL) == (None, Ticket())
    assert g.failures == 1


def test_limits_take_one_slot_each_and_give_back_on_pause() -> None:
    store = Store()
    g = guards(store, Limit("destructive", 2, 600), Limit("zap", 1, 600))
    outcome, ticket = g.enter(ctx(), True, "pod", None)
    assert outcome is None and ticket.slots == ("limit:destructive:0", "limit:zap:0")
    status, why, detail = reason(g.enter(ctx(), True, "pod", None))
    assert (status, detail) == ("skipped", {"blast_radius": "zap"})
    assert why == Limit("zap", 1, 600).paused()
    assert not store.held("limit:destructive:1")
    assert g.enter(ctx(type_name="other"), True, "pod", None)[1].slots == (
        "limit:destructive:1",)
    assert g.enter(ctx(), False, "pod", None) == (None, Ticket())


@pytest.mark.parametrize("status, cooldown_back, slots_back", [
    (Status.OK, False, False), (Status.FAILED, True, True), (Status.SKIPPED, False, True),
    (Status.DRY_RUN, False, True)])
def test_leave_gives_back_what_a_live_action_did_not_use(status: Status, cooldown_back: bool,
                                                         slots_back: bool) -> None:
    store = Store()
    g = guards(store, Limit("destructive", 1, 600))
    _, ticket = g.enter(ctx(), True, "pod", COOL)
    g.leave(ticket, ctx().failed("x") if status is Status.FAILED else
            msgspec.structs.replace(ctx().ok(), status=status))
    assert store.held(ticket.cooldown_key or "") is not cooldown_back
    assert store.held("limit:destructive:0") is not slots_back


def test_a_failed_release_is_counted_not_raised() -> None:
    store = Store()
    g = guards(store, Limit("destructive", 1, 600))
    _, ticket = g.enter(ctx(), True, "pod", COOL)
    store.failing = {"release"}
    g.leave(ticket, ctx().failed("x"))
    assert g.failures == 1


# -- dry runs: read the shared store, rehearse in private --------------------------------


def test_a_dry_run_reads_live_claims_and_writes_none() -> None:
    store = Store()
    live = guards(store, Limit("destructive", 2, 600))
    live.enter(ctx(), True, "pod", COOL)
    live.enter(ctx(), True, "node", COOL)
    claims = dict(store._claims)
    dry = guards(store, Limit("destructive", 1, 600))
    assert reason(dry.enter(ctx(True), True, "pod", COOL)) == (
        "skipped", "dry run: would be suppressed by a cooldown: already ran for this rule and "
        "target within 10m", {"cooldown": True})
    assert reason(dry.enter(ctx(True), True, "node", COOL))[1] == (
        "dry run: would be suppressed by a cooldown: already ran for this rule and node "
        "within 10m")
    assert store._claims == claims and not store._counters


def test_a_dry_run_rehearses_its_own_cooldowns_and_limits() -> None:
    store = Store()
    dry = guards(store, Limit("destructive", 1, 600))
    outcome, ticket = dry.enter(ctx(True), True, "pod", COOL)
    assert outcome is None and ticket.dry_run and ticket.slots == ("limit:destructive:0",)
    dry.leave(ticket, ctx(True).would("would zap"))
    assert reason(dry.enter(ctx(True), True, "pod", COOL)) == (
        "skipped", "dry run: would be suppressed by a cooldown: this dry run already ran it "
        "for this rule and target within 10m", {"cooldown": True})
    other = msgspec.structs.replace(ctx(True), alert=alert(**{**POD, "k8s.pod.name": "b"}))
    status, why, detail = reason(dry.enter(other, True, "pod", COOL))
    assert (status, detail) == ("skipped", {"blast_radius": "destructive"})
    assert why == "dry run: would exceed the limit: " + Limit("destructive", 1, 600).paused()
    # The paused rehearsal gave its cooldown back: after the slot frees, b is rehearsed.
    dry.rehearsal.release("limit:destructive:0")
    assert dry.enter(other, True, "pod", COOL)[0] is None
    assert not store._claims and not store._counters
    # A notifier's dry run takes no slot.
    assert dry.enter(ctx(True), False, "pod", None) == (None, Ticket(dry_run=True))


def test_a_dry_run_counts_live_slots_as_taken() -> None:
    store = Store()
    guards(store, Limit("destructive", 2, 600)).enter(ctx(), True, "pod", None)
    dry = guards(store, Limit("destructive", 2, 600))
    assert dry.enter(ctx(True), True, "pod", None)[1].slots == ("limit:destructive:1",)
    assert reason(dry.enter(ctx(True), True, "pod", None))[0] == "skipped"


@pytest.mark.parametrize("status, cooldown_back, slots_back", [
    (Status.DRY_RUN, False, False), (Status.OK, False, False), (Status.FAILED, True, True),
    (Status.SKIPPED, False, True)])
def test_leave_for_a_dry_run_touches_only_the_rehearsal(status: Status, cooldown_back: bool,
                                                        slots_back: bool) -> None:
    store = Store()
    store.failing = {"release"}  # the shared store is never written, not even released
    dry = guards(store, Limit("destructive", 1, 600))
    _, ticket = dry.enter(ctx(True), True, "pod", COOL)
    dry.leave(ticket, msgspec.structs.replace(ctx(True).would("w"), status=status))
    assert dry.rehearsal.held(ticket.cooldown_key or "") is not cooldown_back
    assert dry.rehearsal.held("limit:destructive:0") is not slots_back
    assert dry.failures == 0


@pytest.mark.parametrize("op, check", [("held:cooldown", "cooldown"),
                                       ("held:limit", "blast-radius")])
def test_a_dry_run_says_a_live_run_would_fail_on_a_store_failure(op: str, check: str) -> None:
    store = Store()
    store.failing = {op}
    dry = guards(store, Limit("destructive", 1, 600))
    status, why, _ = reason(dry.enter(ctx(True), True, "pod", COOL))
    assert status == "failed" and why == (
        f"dry run: a live run would fail: state store unavailable, not acting without the "
        f"{check} check: table unreachable")
    assert dry.failures == 1
    assert not dry.rehearsal._claims  # the rehearsal gave back what it took
    if check == "cooldown":
        assert dry.enter(ctx(True), False, "pod", COOL)[0] is None  # a notifier goes on


def test_a_store_without_held_reads_as_nothing_held() -> None:
    class Old:
        url = "old://"

    dry = guards(Old(), Limit("destructive", 1, 600))
    assert dry.enter(ctx(True), True, "pod", COOL)[0] is None


def test_priority_is_read_by_label() -> None:
    rule = CooldownRule(60, ("priority",))
    a = make_alert(priority="Critical")
    b = make_alert(priority="critical")
    assert a.priority is Priority.CRITICAL
    assert cooldown_key(rule, a, "r", "x", None) == cooldown_key(rule, b, "r", "x", None)


# -- details mutation testing asked about --------------------------------------------------


def test_failed_and_skipped_outcomes_name_the_default_target() -> None:
    for dry in (False, True):
        for op in ("claim:cooldown", "held:cooldown", "claim:limit", "held:limit"):
            store = Store()
            store.failing = {op}
            outcome, _ = guards(store, Limit("destructive", 1, 600)).enter(
                ctx(dry), True, "node", COOL)
            if outcome is not None:
                assert outcome.target == "node:node-1", (dry, op)
        g = guards(Store(), Limit("destructive", 1, 600))
        g.enter(ctx(dry), True, "node", None)
        other = msgspec.structs.replace(ctx(dry), alert=alert(**{**POD, "hostname": "n2"}))
        assert g.enter(other, True, "node", None)[0].target == "node:n2"


def test_a_dry_run_cooldown_skip_names_the_target() -> None:
    dry = guards()
    dry.enter(ctx(True), True, "node", COOL)
    assert dry.enter(ctx(True), True, "node", COOL)[0].target == "node:node-1"
    store = Store()
    guards(store).enter(ctx(), True, "node", COOL)
    assert guards(store).enter(ctx(True), True, "node", COOL)[0].target == "node:node-1"


def test_failures_are_counted_one_by_one() -> None:
    for dry, op in ((False, "claim"), (True, "held")):
        store = Store()
        store.failing = {op}
        g = guards(store, Limit("destructive", 1, 600))
        for _ in range(3):
            g.enter(ctx(dry), True, "pod", COOL)
        assert g.failures == 3
        store.failing = {f"{op}:limit"}
        g.enter(ctx(dry), True, "pod", None)
        assert g.failures == 4
    store = Store()
    g = guards(store, Limit("destructive", 1, 600))
    tickets = [g.enter(ctx(), True, "pod", None)[1], g.enter(ctx(), False, "pod", COOL)[1]]
    store.failing = {"release"}
    for ticket in tickets:
        g.leave(ticket, ctx().failed("x"))
    assert g.failures == 2


def test_the_suppressed_counter_outlives_the_cooldown_twice_over() -> None:
    clock = [0.0]
    store = MemoryStore(clock=lambda: clock[0])
    g = guards(store)
    g.enter(ctx(), True, "pod", COOL)
    g.enter(ctx(), True, "pod", COOL)  # counted: 1
    clock[0] = 1190  # the cooldown (600 s) is over; the counter lives 1,200 s
    c = ctx()
    assert g.enter(c, True, "pod", COOL)[0] is None and c.suppressed == 1
    g.enter(ctx(), True, "pod", COOL)  # counted: 1, again
    clock[0] = 1190 + 1210
    c = ctx()
    assert g.enter(c, True, "pod", COOL)[0] is None and c.suppressed == 0


@pytest.mark.parametrize("dry", [False, True])
def test_a_limit_that_does_not_apply_is_passed_over_not_the_end(dry: bool) -> None:
    g = guards(Store(), Limit("cordon", 1, 600), Limit("destructive", 1, 600))
    outcome, ticket = g.enter(ctx(dry), True, "pod", None)
    assert outcome is None and ticket.slots == ("limit:destructive:0",)
    if dry:
        g.leave(ticket, ctx(True).would("w"))
    assert reason(g.enter(ctx(dry), True, "pod", None))[2] == {"blast_radius": "destructive"}


def test_a_dry_run_honours_a_limit_per_type() -> None:
    g = guards(Store(), Limit("zap", 1, 600))
    _, ticket = g.enter(ctx(True), True, "pod", None)
    assert ticket.slots == ("limit:zap:0",)
    g.leave(ticket, ctx(True).would("w"))
    assert reason(g.enter(ctx(True), True, "pod", None))[2] == {"blast_radius": "zap"}
    assert g.enter(ctx(True, type_name="other"), True, "pod", None)[1].slots == ()


def test_a_notifier_without_its_cooldown_says_so_in_the_log() -> None:
    from structlog.testing import capture_logs

    store = Store()
    store.failing, store.fail = {"claim"}, StoreError("x" * 400)
    with capture_logs() as logs:
        guards(store).enter(ctx(), False, "pod", COOL)
    assert logs == [{"event": "cooldown skipped: state store unavailable", "error": "x" * 300,
                     "action": "a", "log_level": "warning"}]


def test_cooldown_parts_cannot_run_into_each_other() -> None:
    rule = CooldownRule(60, ("fields.a", "fields.b"))
    one = alert(a="x\x1fy", b="z")
    two = alert(a="x", b="y\x1fz")
    assert cooldown_key(rule, one, "r", "a", None) != cooldown_key(rule, two, "r", "a", None)
