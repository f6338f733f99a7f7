"""Cooldowns, blast-radius limits, the audit trail, and the store's counters."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from falco_response import ConfigError, Engine, hookimpl
from falco_response.state import open_store
from falco_response.state.memory import MemoryStore
from falco_response.state.sqlite import SQLiteStore

from .conftest import ROOT, alert_dict

ACTED: list[tuple[str, str]] = []


class Actions:
    """A destructive pod action, a node action and a notifier that records what it saw."""

    @hookimpl
    def register_actions(self, register: Any) -> None:
        register("zap", lambda p: self._zap, destructive=True)
        register("cordon", lambda p: self._cordon, destructive=True, scope="node")
        register("tell", lambda p: self._tell, blocking=False)

    def _zap(self, ctx: Any) -> Any:
        if ctx.dry_run:
            return ctx.would("would zap", target=f"pod:{ctx.alert.pod_namespace}/{ctx.alert.pod_name}")
        ACTED.append(("zap", ctx.alert.pod_name))
        return ctx.ok(target=f"pod:{ctx.alert.pod_namespace}/{ctx.alert.pod_name}", reason="zapped")

    def _cordon(self, ctx: Any) -> Any:
        ACTED.append(("cordon", ctx.alert.hostname))
        return ctx.ok(target=f"node:{ctx.alert.hostname}", reason="cordoned")

    def _tell(self, ctx: Any) -> Any:
        said = "; ".join(f"{o.action}: {o.status.value} {o.reason}" for o in ctx.previous)
        ACTED.append(("tell", f"{said} | suppressed={ctx.suppressed}"))
        return ctx.ok(reason="told")


@pytest.fixture(autouse=True)
def _clear() -> None:
    ACTED.clear()


def engine(settings: dict[str, Any] | None = None, store: Any = None, **response: Any) -> Engine:
    config = {"version": 1, "settings": settings or {}, "responses": [
        {"name": "contain", "actions": [{"type": "zap"}, {"type": "tell"}], **response}]}
    return Engine.from_config(config, plugins=[Actions()], entry_points=False, store=store)


def pod_alert(pod: str = "api-1", **kw: Any) -> dict[str, Any]:
    data = alert_dict(**kw)
    data["output_fields"] = {**data["output_fields"], "k8s.ns.name": "payments",
                             "k8s.pod.name": pod}
    return data


def statuses(results: list[Any]) -> list[str]:
    return [o.status.value for r in results for o in r.outcomes]


def test_cooldown_acts_once_per_rule_and_target_and_counts_the_rest() -> None:
    e = engine(cooldown="10m")
    for _ in range(1000):
        e.handle(pod_alert("api-1"))
    e.handle(pod_alert("api-2"))
    assert ACTED.count(("zap", "api-1")) == 1 and ACTED.count(("zap", "api-2")) == 1
    (last,) = e.handle(pod_alert("api-1"))
    assert [o.status.value for o in last.outcomes] == ["skipped", "skipped"]
    assert last.outcomes[0].reason == ("cooldown: already ran for this rule and target within "
                                       "10m (1000 suppressed so far)")
    assert last.outcomes[0].target == "pod:payments/api-1"


def test_the_suppressed_count_reaches_the_next_outcome_for_the_key() -> None:
    clock = [1000.0]
    store = MemoryStore(clock=lambda: clock[0])
    e = engine(store=store, actions=[{"type": "zap", "cooldown": "1m"}, {"type": "tell"}])
    for _ in range(5):
        e.handle(pod_alert())
    clock[0] += 61
    (result,) = e.handle(pod_alert())
    zap = result.outcomes[0]
    assert zap.status.value == "ok"
    assert zap.reason == "zapped; 4 similar alerts suppressed during the cooldown"
    assert zap.detail["suppressed"] == 4
    assert ACTED[-1] == ("tell", "zap: ok zapped; 4 similar alerts suppressed during the "
                                 "cooldown | suppressed=0")


def test_cooldown_key_can_use_other_fields() -> None:
    e = engine(cooldown={"for": "10m", "key": ["rule", "fields.proc.name"]})
    e.handle(pod_alert("api-1"))
    e.handle(pod_alert("api-2"))
    assert ACTED.count(("zap", "api-1")) == 1 and ("zap", "api-2") not in ACTED


def test_node_actions_cool_down_per_node() -> None:
    config = {"version": 1, "responses": [{"name": "n", "cooldown": "5m",
                                           "actions": [{"type": "cordon"}]}]}
    e = Engine.from_config(config, plugins=[Actions()], entry_points=False)
    for pod in ("a", "b", "c"):
        e.handle(pod_alert(pod))
    e.handle(pod_alert("d", hostname="other-node"))
    assert ACTED == [("cordon", "worker-3"), ("cordon", "other-node")]


def test_a_failed_action_releases_its_cooldown() -> None:
    attempts: list[int] = []

    class Flaky:
        @hookimpl
        def register_actions(self, register: Any) -> None:
            def run(ctx: Any) -> Any:
                attempts.append(1)
                return ctx.failed("api down") if len(attempts) == 1 else ctx.ok()
            register("flaky", lambda p: run)

    e = Engine.from_config({"version": 1, "responses": [
        {"name": "r", "cooldown": "10m", "actions": [{"type": "flaky"}]}]},
        plugins=[Flaky()], entry_points=False)
    assert statuses(e.handle(pod_alert())) == ["failed"]
    assert statuses(e.handle(pod_alert())) == ["ok"]
    assert statuses(e.handle(pod_alert())) == ["skipped"]


@pytest.mark.parametrize("bad, reason", [
    ("soon", "not a duration"),
    ({"for": "1m", "key": ["rule", "colour"]}, "unknown cooldown key part 'colour'"),
    ({"for": "1m", "key": []}, "at least one part"),
])
def test_bad_cooldowns_are_config_errors(bad: Any, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        engine(cooldown=bad)
    (problem,) = info.value.problems
    assert problem.path == "responses[0].cooldown" and reason in problem.reason


def test_blast_radius_pauses_containment_and_the_notifier_says_so() -> None:
    e = engine({"limits": {"destructive": {"max": 3, "per": "10m"}}})
    results = [e.handle(pod_alert(f"api-{i}"))[0] for i in range(5)]
    assert [r.outcomes[0].status.value for r in results] == ["ok"] * 3 + ["skipped"] * 2
    paused = results[3].outcomes[0]
    assert paused.reason == ("blast_radius: containment paused: 3 destructive actions in 10m "
                             "(settings.limits.destructive)")
    assert [r.outcomes[1].status.value for r in results] == ["ok"] * 5
    assert "containment paused" in ACTED[-1][1]
    assert sum(1 for a in ACTED if a[0] == "zap") == 3


def test_limits_per_action_type_and_window_sliding() -> None:
    clock = [0.0]
    e = engine({"limits": {"zap": {"max": 2, "per": "1m"}}},
               store=MemoryStore(clock=lambda: clock[0]))
    assert statuses([e.handle(pod_alert(f"p{i}"))[0] for i in range(3)])[::2] == \
        ["ok", "ok", "skipped"]
    clock[0] += 61
    assert e.handle(pod_alert("p9"))[0].outcomes[0].status.value == "ok"


def test_dry_runs_and_skips_do_not_count_against_the_limit() -> None:
    e = engine({"limits": {"destructive": {"max": 1, "per": "1h"}}})
    dry = Engine.from_config({"version": 1, "settings": {"dry_run": True,
                              "limits": {"destructive": {"max": 1, "per": "1h"}}},
                              "responses": [{"name": "r", "actions": [{"type": "zap"}]}]},
                             plugins=[Actions()], entry_points=False, store=e.store)
    # A dry run says what a live run would meet (the limit binds after one) but takes no
    # live slot: the live engine still has its one.
    assert [dry.handle(pod_alert(f"d{i}"))[0].outcomes[0].status.value for i in range(5)] == \
        ["dry_run"] + ["skipped"] * 4
    protected = pod_alert("x")
    protected["output_fields"]["k8s.ns.name"] = "kube-system"
    assert e.handle(protected)[0].outcomes[0].status.value == "skipped"
    assert e.handle(pod_alert("real"))[0].outcomes[0].status.value == "ok"
    assert e.handle(pod_alert("next"))[0].outcomes[0].status.value == "skipped"


def test_unknown_limit_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="settings.limits.delete-everything"):
        engine({"limits": {"delete-everything": {"max": 1, "per": "1m"}}})


def test_store_failure_stops_destructive_actions_but_not_notifiers() -> None:
    from falco_response.state import StoreError

    class Broken(MemoryStore):
        def claim(self, key: str, ttl_seconds: float) -> bool:
            raise StoreError("table unreachable")

    e = engine({"limits": {"destructive": {"max": 3, "per": "1m"}}}, store=Broken(),
               cooldown="1m")
    (result,) = e.handle(pod_alert())
    assert [o.status.value for o in result.outcomes] == ["failed", "ok"]
    assert "state store unavailable" in (result.outcomes[0].reason or "")
    assert not any(a[0] == "zap" for a in ACTED)


def test_audit_trail_records_every_acting_outcome(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    e = engine({"store": url, "audit": {"retention": "7d"}}, cooldown="10m")
    e.handle(pod_alert("api-1", uuid="u-1"))
    e.handle(pod_alert("api-1", uuid="u-2"))  # cooldown skips are counted, not recorded
    e.handle(pod_alert("api-2", uuid="u-3"))
    e.close()
    records = open_store(url).history(0)
    assert [(r.uuid, r.action, r.status, r.target) for r in records] == [
        ("u-1", "zap", "ok", "pod:payments/api-1"), ("u-1", "tell", "ok", None),
        ("u-3", "zap", "ok", "pod:payments/api-2"), ("u-3", "tell", "ok", None)]
    first = records[0]
    assert (first.rule, first.priority, first.response, first.reason, first.dry_run) == (
        "Terminal shell in container", "Critical", "contain", "zapped", False)


def test_audit_command_answers_why_a_pod_was_deleted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    e = engine({"store": url})
    e.handle(pod_alert("api-1", uuid="u-1"))
    e.handle(pod_alert("api-2", uuid="u-2"))
    e.close()
    cmd = [sys.executable, "-m", "falco_response", "audit", "--store", url, "--since", "1h"]
    done = subprocess.run([*cmd, "--target", "payments/api-2", "--json"], capture_output=True,
                          check=True, timeout=60)
    (line,) = done.stdout.splitlines()
    record = json.loads(line)
    assert (record["uuid"], record["action"], record["status"], record["reason"]) == (
        "u-2", "zap", "ok", "zapped")
    table = subprocess.run(cmd, capture_output=True, check=True, timeout=60, text=True).stdout
    assert "pod:payments/api-1" in table and "4 record(s) since 1h ago" in table
    bad = subprocess.run([*cmd[:-2], "--since", "later"], capture_output=True, timeout=60)
    assert bad.returncode == 2 and b"--since" in bad.stderr  # a bad option value: usage


@pytest.mark.parametrize("make", [lambda p: MemoryStore(), lambda p: SQLiteStore(p / "s.db")],
                         ids=["memory", "sqlite"])
def test_store_counters(make: Any, tmp_path: Path) -> None:
    store = make(tmp_path)
    assert [store.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert store.take("k") == 3 and store.take("k") == 0
    assert store.incr("k", 60) == 1
    store.close()


def test_sqlite_counter_expires(tmp_path: Path) -> None:
    clock = [0.0]
    store = SQLiteStore(tmp_path / "s.db", clock=lambda: clock[0])
    store.incr("k", 10)
    store.incr("k", 10)
    clock[0] = 11
    assert store.incr("k", 10) == 1
    clock[0] = 30
    assert store.take("k") == 0


def _race(path: str, limit: int, results: Any) -> None:
    from falco_response import Engine

    class Zap:
        @hookimpl
        def register_actions(self, register: Any) -> None:
            register("zap", lambda p: lambda ctx: ctx.ok(target="x"), destructive=True)

    e = Engine.from_config({"version": 1, "settings": {
        "store": f"sqlite:///{path}", "limits": {"destructive": {"max": limit, "per": "10m"}}},
        "responses": [{"name": "r", "cooldown": "10m", "actions": [{"type": "zap"}]}]},
        plugins=[Zap()], entry_points=False)
    acted = 0
    for i in range(40):
        alert = pod_alert(f"pod-{i % 10}")
        for result in e.handle(alert):
            acted += sum(o.status.value == "ok" for o in result.outcomes)
    results.put(acted)


@pytest.mark.parametrize("limit, expected", [(5, 5), (100, 10)],
                         ids=["limit-binds", "cooldown-binds"])
def test_eight_processes_on_one_sqlite_store_respect_limit_and_cooldown(
        tmp_path: Path, limit: int, expected: int) -> None:
    """8 processes x 40 alerts over 10 pods: a limit of 5 acts 5 times; with room to spare,
    the per-pod cooldown still acts exactly once per pod."""
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=_race, args=(str(tmp_path / "state.db"), limit, results))
             for _ in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    counts = [results.get(timeout=5) for _ in procs]
    assert sum(counts) == expected, counts


def test_safety_docs_cover_the_settings() -> None:
    text = (ROOT / "docs" / "safety.md").read_text()
    for needle in ("cooldown", "limits", "blast_radius", "falco-response audit", "store"):
        assert needle in text
