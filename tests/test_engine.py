"""The engine: dry-run at every level, isolation of actions, safety, structured logs."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import structlog

from falco_response import ActionContext, Outcome, Status, hookimpl

from .conftest import Recorder, alert_dict, build, make_alert


class Plugin:
    """Registers a few test action types; the recorder sees what ran."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    @hookimpl
    def register_actions(self, register: Any) -> None:
        register("record", self.recorder.make, summary="test")
        register("destroy", self.recorder.make, destructive=True)
        register("boom", lambda p: self._boom)
        register("wrong", lambda p: lambda ctx: "not an outcome")
        register("slow", lambda p: self._slow)

    def _boom(self, ctx: ActionContext) -> Outcome:
        raise RuntimeError("kaput")

    def _slow(self, ctx: ActionContext) -> Outcome:
        time.sleep(0.05)
        return ctx.ok(reason=f"{ctx.remaining():.3f}")


def cfg(*responses: dict[str, Any], **settings: Any) -> dict[str, Any]:
    return {"version": 1, "settings": settings, "responses": list(responses)}


def r(name: str = "r", actions: list[Any] | None = None, **kw: Any) -> dict[str, Any]:
    return {"name": name, "actions": actions or [{"type": "record"}], **kw}


def statuses(engine: Any, **alert: Any) -> list[str]:
    (result,) = engine.handle(alert_dict(**alert))
    return [o.status.value for o in result.outcomes]


def test_outcomes_carry_response_action_target_reason(recorder: Recorder) -> None:
    engine = build({"version": 1, "actions": {"a": {"type": "record"}},
                    "responses": [r(actions=["a", {"type": "record"}])]}, Plugin(recorder))
    (result,) = engine.handle(alert_dict())
    assert [o.to_dict() for o in result.outcomes] == [
        {"response": "r", "action": "a", "status": "ok", "target": "thing:x", "reason": "recorded"},
        {"response": "r", "action": "record", "status": "ok", "target": "thing:x",
         "reason": "recorded"},
    ]
    assert recorder.seen == [("a", False, ()), ("record", False, ("a",))]
    assert all(o.duration_ms >= 0 for o in result.outcomes)


@pytest.mark.parametrize("where", ["engine", "settings", "response", "action", "env"])
def test_dry_run_at_every_level(where: str, recorder: Recorder,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    action: dict[str, Any] = {"type": "record"}
    response = r(actions=[action])
    settings: dict[str, Any] = {}
    kwargs: dict[str, Any] = {}
    if where == "engine":
        kwargs["dry_run"] = True
    elif where == "settings":
        settings["dry_run"] = True
    elif where == "response":
        response["dry_run"] = True
    elif where == "action":
        action["dry_run"] = True
    else:
        monkeypatch.setenv("FALCO_RESPONSE_DRY_RUN", "1")
    engine = build(cfg(response, **settings), Plugin(recorder), **kwargs)
    assert statuses(engine) == ["dry_run"]
    assert recorder.seen == [("record", True, ())]


def test_dry_run_is_sticky(recorder: Recorder) -> None:
    engine = build(cfg(r(dry_run=False, actions=[{"type": "record", "dry_run": False}]),
                       dry_run=True), Plugin(recorder))
    assert statuses(engine) == ["dry_run"]


def test_dry_run_only_where_said(recorder: Recorder) -> None:
    engine = build(cfg(r(actions=[{"type": "record", "dry_run": True}, {"type": "record"}])),
                   Plugin(recorder))
    assert statuses(engine) == ["dry_run", "ok"]


def test_an_exception_is_a_failed_outcome_and_the_next_action_runs(recorder: Recorder) -> None:
    engine = build(cfg(r(actions=[{"type": "boom"}, {"type": "wrong"}, {"type": "record"}])),
                   Plugin(recorder))
    (result,) = engine.handle(alert_dict())
    assert [o.status for o in result.outcomes] == [Status.FAILED, Status.FAILED, Status.OK]
    assert result.outcomes[0].reason == "RuntimeError: kaput"
    assert result.outcomes[1].reason == "action returned str, not an Outcome"
    assert not result.ok


def test_destructive_actions_never_touch_protected_namespaces(recorder: Recorder) -> None:
    engine = build(cfg(r(actions=[{"type": "destroy"}, {"type": "record"}])), Plugin(recorder))
    fields = {**alert_dict()["output_fields"], "k8s.ns.name": "kube-system"}
    (result,) = engine.handle(alert_dict(output_fields=fields))
    assert [(o.status.value, o.reason, o.target) for o in result.outcomes] == [
        ("skipped", "namespace kube-system is protected", "namespace:kube-system"),
        ("ok", "recorded", "thing:x")]
    assert recorder.seen == [("record", False, ("destroy",))]


def test_protected_namespaces_are_configurable(recorder: Recorder) -> None:
    engine = build(cfg(r(actions=[{"type": "destroy"}]), protected_namespaces=["checkout"]),
                   Plugin(recorder))
    assert statuses(engine) == ["skipped"]


def test_action_timeout_sets_the_deadline(recorder: Recorder) -> None:
    engine = build(cfg(r(actions=[{"type": "slow"}]), action_timeout="2s"), Plugin(recorder))
    (result,) = engine.handle(alert_dict())
    assert 1.5 < float(result.outcomes[0].reason or 0) <= 2.0


def test_an_alert_past_its_deadline_fails_the_remaining_actions(recorder: Recorder) -> None:
    engine = build(cfg(r(actions=[{"type": "slow"}, {"type": "record"}]),
                       alert_deadline="10ms"), Plugin(recorder))
    (result,) = engine.handle(alert_dict())
    assert [o.status.value for o in result.outcomes] == ["ok", "failed"]
    assert "deadline passed" in (result.outcomes[1].reason or "")
    assert recorder.seen == []


def test_a_hung_action_does_not_block_the_next_one(recorder: Recorder) -> None:
    release = threading.Event()

    class Hang:
        @hookimpl
        def register_actions(self, register: Any) -> None:
            register("hang", lambda p: lambda ctx: (release.wait(30), ctx.ok())[1])

    engine = build(cfg(r(actions=[{"type": "hang"}, {"type": "record"}]),
                       action_timeout="200ms"), Plugin(recorder), Hang())
    started = time.monotonic()
    (result,) = engine.handle(alert_dict())
    elapsed = time.monotonic() - started
    release.set()
    assert [o.status.value for o in result.outcomes] == ["failed", "ok"]
    assert result.outcomes[0].reason == ("timed out after 0.2s; the action was abandoned "
                                         "(it may still finish in the background)")
    assert elapsed < 10  # not the 30 s the action would have taken
    engine.close()


def test_no_response_matched_gives_empty_outcomes(recorder: Recorder) -> None:
    engine = build(cfg(r(match={"rule": "Other"})), Plugin(recorder))
    (result,) = engine.handle(alert_dict())
    assert result.outcomes == [] and result.ok
    assert result.to_dict() == {"rule": "Terminal shell in container", "priority": "Critical",
                                "outcomes": []}


def test_outcome_logs_bind_rule_uuid_response_action_target(recorder: Recorder) -> None:
    structlog.reset_defaults()  # another test may have configured a level filter
    engine = build(cfg(r(actions=[{"type": "record"}, {"type": "boom"}])), Plugin(recorder))
    with structlog.testing.capture_logs() as logs:
        engine.handle(alert_dict(uuid="u-42"))
    outcome_logs = [e for e in logs if e["event"] == "action outcome"]
    assert [(e["log_level"], e["outcome"]) for e in outcome_logs] == [("info", "ok"),
                                                                       ("error", "failed")]
    first = outcome_logs[0]
    assert {k: first[k] for k in ("rule", "uuid", "response", "action", "target")} == {
        "rule": "Terminal shell in container", "uuid": "u-42", "response": "r",
        "action": "record", "target": "thing:x"}


def test_handle_alert_accepts_an_alert_object(recorder: Recorder) -> None:
    engine = build(cfg(r()), Plugin(recorder))
    result = engine.handle_alert(make_alert())
    assert [o.status.value for o in result.outcomes] == ["ok"]
