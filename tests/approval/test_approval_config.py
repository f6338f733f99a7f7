"""``approval:`` is validated at load, with the path of each problem."""

from __future__ import annotations

from typing import Any

import pytest

from falco_response import ConfigError, Engine, Status, hookimpl


def load(approval: Any, *, on: str = "action", via_type: str = "slack") -> Engine:
    via = ({"type": "slack", "with": {"webhook_url": "https://hooks.slack.com/services/T/B/X"}}
           if via_type == "slack" else {"type": "log"})
    kill: dict[str, Any] = {"type": "delete-pod"}
    response: dict[str, Any] = {"name": "r", "actions": ["kill"]}
    (kill if on == "action" else response)["approval"] = approval
    return Engine.from_config({"version": 1, "settings": {"store": "memory://"},
                               "actions": {"ask": via, "kill": kill},
                               "responses": [response]})


def problems(approval: Any, **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        load(approval, **kwargs)
    return [(p.path, p.reason) for p in caught.value.problems]


GOOD = {"via": "ask", "approvers": ["U024BE7LH"], "timeout": "15m"}


def test_a_good_approval_loads_on_an_action_and_on_a_response() -> None:
    engine = load(GOOD)
    (action,) = engine.config.responses[0].actions
    assert action.approval is not None and action.approval.timeout == 900
    assert action.approval.on_timeout == "deny" and engine.config.has_approvals
    assert load(GOOD, on="response").config.responses[0].approval is not None


@pytest.mark.parametrize("change, path, reason", [
    ({"via": "nope"}, "actions.kill.approval.via", "no action named 'nope' in 'actions'"),
    ({"approvers": ["alice"]}, "actions.kill.approval.approvers[0]", "is not a Slack user id"),
    ({"approvers": ["S0123ABCD"]}, "actions.kill.approval.approvers[0]",
     "user groups are not supported"),
    ({"approvers": []}, "actions.kill.approval.approvers", "at least one"),
    ({"timeout": "30s"}, "actions.kill.approval.timeout", "between 1m and 24h"),
    ({"timeout": "25h"}, "actions.kill.approval.timeout", "between 1m and 24h"),
    ({"timeout": "soon"}, "actions.kill.approval.timeout", "is not a duration"),
])
def test_bad_approvals_name_their_path(change: dict[str, Any], path: str, reason: str) -> None:
    found = problems({**GOOD, **change})
    assert any(p == path and reason in r for p, r in found), found


def test_via_must_be_a_slack_action() -> None:
    found = problems(GOOD, via_type="log")
    assert ("actions.kill.approval.via",
            "action 'ask' is of type 'log': via must name a slack action") in found


def test_on_timeout_is_deny_or_proceed() -> None:
    found = problems({**GOOD, "on_timeout": "maybe"})
    assert any(p == "actions.kill.approval.on_timeout" for p, _ in found), found


def test_response_level_path() -> None:
    found = problems({**GOOD, "timeout": "1s"}, on="response")
    assert any(p == "responses[0].approval.timeout" for p, _ in found), found


class StandIn:
    """A destructive type whose dry run always plans (no cluster needed)."""

    @hookimpl
    def register_actions(self, register: Any) -> None:
        def make(_params: Any) -> Any:
            def run(ctx: Any) -> Any:
                if ctx.dry_run:
                    return ctx.would("would zap", target="pod:default/web-1")
                return ctx.ok(target="pod:default/web-1", reason="zapped")
            return run
        register("zap", make, destructive=True)


def test_memory_store_from_config_refuses_to_ask() -> None:
    config = {"version": 1, "settings": {"store": "memory://"},
              "actions": {"ask": {"type": "slack", "with": {
                  "webhook_url": "https://hooks.slack.com/services/T/B/X"}},
                  "zap": {"type": "zap", "approval": GOOD}},
              "responses": [{"name": "r", "actions": ["zap"]}]}
    engine = Engine.from_config(config, plugins=[StandIn()])
    (result,) = engine.handle({"rule": "x", "priority": "Critical",
                               "time": "2026-01-01T00:00:00Z", "output": "x"})
    (outcome,) = result.outcomes
    assert outcome.status is Status.FAILED
    assert outcome.reason.startswith("approval needs a shared state store")
