"""Cooldown keys part by part, what a failed or skipped action gives back, which actions a
limit counts, and the limit's bounds: the cases mutation testing found untested in safety.py."""

from __future__ import annotations

from typing import Any

import pytest

from falco_response import ConfigError, Engine, hookimpl
from falco_response.safety import KEY_PARTS
from falco_response.state.memory import MemoryStore

from .conftest import alert_dict


class Actions:
    """``zap`` (destructive pod action), ``cordon`` (destructive node action) and ``tell``;
    ``zap`` answers with the status queued in ``answers`` (``ok`` when empty)."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, str | None]] = []
        self.answers: list[str] = []

    @hookimpl
    def register_actions(self, register: Any) -> None:
        register("zap", lambda p: self._zap, destructive=True, blocking=False)
        register("cordon", lambda p: self._cordon, destructive=True, scope="node",
                 blocking=False)
        register("tell", lambda p: self._tell, blocking=False)

    def _zap(self, ctx: Any) -> Any:
        self.ran.append(("zap", ctx.alert.pod_name))
        answer = self.answers.pop(0) if self.answers else "ok"
        if answer == "failed":
            return ctx.failed("API down")
        if answer == "skipped":
            return ctx.skipped("pod already gone")
        return ctx.ok(reason="zapped")

    def _cordon(self, ctx: Any) -> Any:
        self.ran.append(("cordon", ctx.alert.hostname))
        return ctx.ok()

    def _tell(self, ctx: Any) -> Any:
        self.ran.append(("tell", ctx.alert.pod_name))
        return ctx.ok()


def build(actions: Actions, responses: list[dict[str, Any]], store: Any = None,
          **settings: Any) -> Engine:
    return Engine.from_config({"version": 1, "settings": settings, "responses": responses},
                              plugins=[actions], entry_points=False, store=store)


def alert(**changes: Any) -> dict[str, Any]:
    """A pod alert; ``changes`` override top-level keys or, with ``f_`` names, fields."""
    data = alert_dict(hostname="node-a", source="syscall", priority="Critical")
    fields = {**data["output_fields"], "k8s.ns.name": "payments", "k8s.pod.name": "api-1",
              "container.id": "c0ffee", "proc.name": "bash"}
    for key, value in changes.items():
        if key.startswith("f_"):
            fields[key[2:].replace("_", ".")] = value
        else:
            data[key] = value
    data["output_fields"] = fields
    return data


# One change per key part that alters that part and nothing a key of only that part reads.
DIFFERS: dict[str, dict[str, Any]] = {
    "rule": {"rule": "Read sensitive file untrusted"},
    "target": {"f_k8s_pod_name": "api-2"},
    "priority": {"priority": "Warning"},
    "source": {"source": "k8s_audit"},
    "node": {"hostname": "node-b"},
    "pod": {"f_k8s_pod_name": "api-2"},
    "namespace": {"f_k8s_ns_name": "shop"},
    "container": {"f_container_id": "deadbeef"},
}
# A change that leaves the part alone (the second alert must be held by the cooldown).
SAME: dict[str, dict[str, Any]] = {
    "rule": {"f_k8s_pod_name": "api-2", "hostname": "node-b"},
    "target": {"rule": "Read sensitive file untrusted", "priority": "Warning"},
    "priority": {"rule": "Read sensitive file untrusted", "hostname": "node-b"},
    "source": {"f_k8s_pod_name": "api-2", "priority": "Warning"},
    "node": {"f_k8s_pod_name": "api-2", "f_k8s_ns_name": "shop", "rule": "Other"},
    "pod": {"rule": "Other", "hostname": "node-b", "f_container_id": "deadbeef"},
    "namespace": {"f_k8s_pod_name": "api-2", "hostname": "node-b"},
    "container": {"f_k8s_pod_name": "api-2", "hostname": "node-b", "rule": "Other"},
}


@pytest.mark.parametrize("part", sorted(DIFFERS))
def test_each_key_part_separates_and_joins_alerts(part: str) -> None:
    actions = Actions()
    engine = build(actions, [{"name": "r", "cooldown": {"for": "10m", "key": [part]},
                              "actions": [{"type": "zap"}]}])
    statuses = [engine.handle(a)[0].outcomes[0].status.value
                for a in (alert(), alert(**DIFFERS[part]), alert(**SAME[part]))]
    assert statuses == ["ok", "ok", "skipped"], statuses


@pytest.mark.parametrize("part", ["response", "action"])
def test_response_and_action_key_parts(part: str) -> None:
    actions = Actions()
    cooldown = {"for": "10m", "key": [part]}
    engine = build(actions, [
        {"name": "one", "cooldown": cooldown, "actions": [{"type": "tell"}, {"type": "zap"}]},
        {"name": "two", "cooldown": cooldown, "actions": [{"type": "tell"}]}])
    first = [o.status.value for o in engine.handle(alert())[0].outcomes]
    second = [o.status.value for o in engine.handle(alert(rule="Other"))[0].outcomes]
    # Keys name the response and action too, so each (response, action) acts once; the key
    # part decides nothing more here than that it is read without error.
    assert first == ["ok", "ok", "ok"] and second == ["skipped", "skipped", "skipped"]


def test_every_key_part_is_tested() -> None:
    assert set(DIFFERS) | {"response", "action"} == set(KEY_PARTS)


@pytest.mark.parametrize("field", ["proc.name", "k8s.pod.name", "x"])
def test_fields_key_part_reads_the_whole_field_name(field: str) -> None:
    actions = Actions()
    engine = build(actions, [{"name": "r", "cooldown": {"for": "10m", "key": [f"fields.{field}"]},
                              "actions": [{"type": "zap"}]}])
    base = alert(**{f"f_{field.replace('.', '_')}": "one"})
    other = alert(**{f"f_{field.replace('.', '_')}": "two"})
    statuses = [engine.handle(a)[0].outcomes[0].status.value for a in (base, other, base)]
    assert statuses == ["ok", "ok", "skipped"]


@pytest.mark.parametrize("bad", ["fields.", "fields", "field.proc.name"])
def test_a_fields_part_needs_a_field_name(bad: str) -> None:
    with pytest.raises(ConfigError, match="unknown cooldown key part"):
        build(Actions(), [{"name": "r", "cooldown": {"for": "1m", "key": [bad]},
                           "actions": [{"type": "zap"}]}])


# -- what an action gives back -----------------------------------------------------------


@pytest.mark.parametrize("answer, gives_back", [("failed", True), ("skipped", True),
                                                ("ok", False)])
def test_only_an_action_that_acted_keeps_its_limit_slot(answer: str, gives_back: bool) -> None:
    actions = Actions()
    actions.answers = [answer]
    engine = build(actions, [{"name": "r", "actions": [{"type": "zap"}]}],
                   limits={"destructive": {"max": 1, "per": "1h"}})
    engine.handle(alert(f_k8s_pod_name="p1"))
    second = engine.handle(alert(f_k8s_pod_name="p2"))[0].outcomes[0]
    assert (second.status.value == "ok") is gives_back, second


@pytest.mark.parametrize("answer, gives_back", [("failed", True), ("skipped", False),
                                                ("ok", False)])
def test_only_a_failed_action_gives_its_cooldown_back(answer: str, gives_back: bool) -> None:
    actions = Actions()
    actions.answers = [answer]
    engine = build(actions, [{"name": "r", "cooldown": "1h", "actions": [{"type": "zap"}]}],
                   limits={"destructive": {"max": 5, "per": "1h"}})
    engine.handle(alert())
    again = engine.handle(alert())[0].outcomes[0]
    assert (again.status.value == "ok") is gives_back, again


def test_a_skipped_limit_gives_back_its_cooldown_and_earlier_slots() -> None:
    actions = Actions()
    store = MemoryStore()
    engine = build(actions, [{"name": "r", "cooldown": "1h", "actions": [{"type": "zap"}]}],
                   store, limits={"destructive": {"max": 5, "per": "1h"}, "zap": {"max": 1, "per": "1h"}})
    engine.handle(alert(f_k8s_pod_name="p1"))
    paused = engine.handle(alert(f_k8s_pod_name="p2"))[0].outcomes[0]
    assert paused.detail == {"blast_radius": "zap"}
    assert store.held("limit:destructive:0") and not store.held("limit:destructive:1")
    store.release("limit:zap:0")
    assert engine.handle(alert(f_k8s_pod_name="p2"))[0].outcomes[0].status.value == "ok"


# -- which actions a limit counts -------------------------------------------------------


def test_notifiers_take_no_limit_slot() -> None:
    actions = Actions()
    engine = build(actions, [{"name": "r", "actions": [{"type": "tell"}]},
                             {"name": "z", "actions": [{"type": "zap"}]}],
                   limits={"destructive": {"max": 1, "per": "1h"}})
    results = [engine.handle(alert(f_k8s_pod_name=f"p{i}"))[0] for i in range(3)]
    assert [[o.status.value for o in r.outcomes] for r in results] == [
        ["ok", "ok"], ["ok", "skipped"], ["ok", "skipped"]]


def test_a_limit_per_type_counts_only_that_type() -> None:
    actions = Actions()
    engine = build(actions, [{"name": "r", "actions": [{"type": "zap"}, {"type": "cordon"}]}],
                   limits={"cordon": {"max": 1, "per": "1h"}})
    results = [engine.handle(alert(f_k8s_pod_name=f"p{i}", hostname=f"n{i}"))[0]
               for i in range(3)]
    assert [[o.status.value for o in r.outcomes] for r in results] == [
        ["ok", "ok"], ["ok", "skipped"], ["ok", "skipped"]]
    assert results[1].outcomes[1].target == "node:n1"


def test_a_dry_run_takes_no_live_slot_and_a_live_run_is_not_held_by_dry_runs() -> None:
    actions = Actions()
    store = MemoryStore()
    responses = [{"name": "r", "cooldown": "1h", "actions": [{"type": "zap"}]}]
    dry = Engine.from_config({"version": 1, "settings": {
        "dry_run": True, "limits": {"destructive": {"max": 1, "per": "1h"}}},
        "responses": responses}, plugins=[actions], entry_points=False, store=store)
    live = build(actions, responses, store, limits={"destructive": {"max": 1, "per": "1h"}})
    dry.handle(alert())
    assert not any(store.held(k) for k in ("limit:destructive:0",)) and not store._claims
    assert live.handle(alert())[0].outcomes[0].status.value == "ok"


# -- the limit's bounds -----------------------------------------------------------------


@pytest.mark.parametrize("value, ok", [(0, False), (-1, False), (1, True), (1000, True),
                                       (1001, False)])
def test_limit_max_is_between_1_and_1000(value: int, ok: bool) -> None:
    def make() -> Engine:
        return build(Actions(), [{"name": "r", "actions": [{"type": "zap"}]}],
                     limits={"destructive": {"max": value, "per": "1m"}})
    if ok:
        assert make().config.limits[0].max == value
        return
    with pytest.raises(ConfigError) as info:
        make()
    (problem,) = info.value.problems
    assert problem.path == "settings.limits.destructive"
    assert ("at least 1" if value < 1 else "above 1000") in problem.reason
