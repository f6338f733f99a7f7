"""Approvals end to end in one process: the real Engine, delete-pod against kmock, the slack
action against a TLS receiver, clicks signed as Slack signs them, a SQLite store."""

from __future__ import annotations

import json
import time
from typing import Any

import msgspec
import pytest
import structlog

from falco_response import Engine, Status
from falco_response.approval import records
from falco_response.approval.interactions import Interactions
from falco_response.approval.slack_signature import SignatureChecker, sign
from falco_response.approval.sweeper import sweep
from falco_response_testing.kubernetes import PODS

from approval_support import (APPROVER, OTHER_APPROVER, SECRET, STRANGER, TOKEN, alert_for,
                              click, config, pending_outcome, validate_blocks, web_pod)


@pytest.fixture
def store_url(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path}/state.db"


@pytest.fixture
def make(kubeconfig: str, slack: Any, ca_bundle: str, store_url: str) -> Any:
    engines: list[Engine] = []

    def build(**kwargs: Any) -> Engine:
        dry_run = kwargs.pop("dry_run", False)
        engine = Engine.from_config(config(kubeconfig, slack, ca_bundle, store_url, **kwargs),
                                    dry_run=dry_run)
        engines.append(engine)
        return engine

    yield build
    for engine in engines:
        engine.close()


def interactions(engine: Engine) -> Interactions:
    return Interactions(engine, SignatureChecker(SECRET))


def deletes(cluster: Any) -> list[str]:
    return [r.url.path for r in cluster.writes() if getattr(r.method, "value", r.method) ==
            "DELETE"]


def test_alert_makes_a_pending_request_and_posts_it(cluster: Any, make: Any, slack: Any) -> None:
    web_pod(cluster)
    engine = make()
    out = pending_outcome(engine)
    assert out.status is Status.PENDING
    assert out.target == "pod:default/web-1"
    assert out.reason.startswith(f"awaiting approval from {APPROVER}, {OTHER_APPROVER} until ")
    assert out.reason.endswith(" UTC")
    approval_id = out.detail["approval"]
    assert records.is_id(approval_id)
    assert deletes(cluster) == []
    assert cluster.obj(PODS, "default", "web-1") is not None
    (posted,) = slack.posts
    validate_blocks(posted)
    buttons = [b for b in posted["blocks"] if b["type"] == "actions"][0]["elements"]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        ("falco-response-approve", approval_id), ("falco-response-deny", approval_id)]
    text = json.dumps(posted)
    assert "would DELETE pod default/web-1 (grace 0s)" in text  # the planned call, as --dry-run
    assert TOKEN not in text
    request = records.load_request(engine.store, approval_id)
    assert request is not None and request.uid == "uid-default-web-1"
    assert (request.channel, request.ts) == ("C0APPROVE", "1700000000.0001")


def test_alert_text_is_escaped_in_the_request(cluster: Any, make: Any, slack: Any) -> None:
    web_pod(cluster)
    engine = make()
    payload = alert_for()
    payload["output"] = "<!channel> *boom* <https://evil.example|click>"
    engine.handle(payload)
    text = json.dumps(slack.posts[0])
    assert "<!channel>" not in text and "<https://evil" not in text


def test_dry_run_prints_the_request_and_stores_nothing(cluster: Any, make: Any,
                                                       slack: Any) -> None:
    web_pod(cluster)
    engine = make(dry_run=True)
    out = pending_outcome(engine)
    assert out.status is Status.DRY_RUN
    assert out.reason.startswith(f"would ask {APPROVER}, {OTHER_APPROVER} (via ask-secops) to "
                                 "approve: would DELETE pod default/web-1")
    assert out.detail["request"].startswith("would post to slack C0APPROVE: Approval needed")
    assert slack.posts == [] and deletes(cluster) == []
    assert engine.store.scan("approval:") == []


def test_signature_is_slacks_own(cluster: Any) -> None:
    from slack_sdk.signature import SignatureVerifier

    headers, body = click("0" * 32)
    stamp = headers["X-Slack-Request-Timestamp"]
    verifier = SignatureVerifier(SECRET)
    assert verifier.generate_signature(timestamp=stamp, body=body) == sign(SECRET, stamp, body)
    assert verifier.is_valid(body, stamp, headers["X-Slack-Signature"])


def test_approve_runs_the_action_after_answering(cluster: Any, make: Any, slack: Any) -> None:
    web_pod(cluster)
    engine = make()
    approval_id = pending_outcome(engine).detail["approval"]
    answer = interactions(engine).handle(*click(approval_id, response_url=slack.response_url))
    assert answer.status == 200 and answer.refused is None
    assert answer.body["text"].startswith(f"approved by {APPROVER} (slack) at ")
    assert deletes(cluster) == []  # nothing before the answer
    assert answer.follow_up is not None
    answer.follow_up()
    assert deletes(cluster) == ["/api/v1/namespaces/default/pods/web-1"]
    result = records.load_result(engine.store, approval_id)
    assert result is not None and result.status == "ok"
    assert result.reason.startswith(f"approved by {APPROVER} (slack) at ")
    assert result.reason.endswith("; deleted (grace 0s)")
    (update,) = slack.responses
    validate_blocks(update)
    assert update["replace_original"] is True
    assert "Approved" in json.dumps(update) and "deleted (grace 0s)" in json.dumps(update)
    assert not any(b["type"] == "actions" for b in update["blocks"])
    trail = engine.store.history(0)
    assert [(r.status, r.approval) for r in trail] == [
        ("pending", approval_id), ("decided:approve", approval_id), ("ok", approval_id)]
    assert APPROVER in trail[1].reason and "slack" in trail[1].reason


def test_deny_skips_with_who_and_when(cluster: Any, make: Any, slack: Any) -> None:
    web_pod(cluster)
    engine = make()
    approval_id = pending_outcome(engine).detail["approval"]
    answer = interactions(engine).handle(*click(approval_id, OTHER_APPROVER, "deny",
                                                response_url=slack.response_url))
    answer.follow_up()
    result = records.load_result(engine.store, approval_id)
    assert result.status == "skipped"
    assert result.reason.startswith(f"denied by {OTHER_APPROVER} (slack) at ")
    assert deletes(cluster) == []
    assert "Denied" in json.dumps(slack.responses[0])


def test_double_click_first_decision_wins(cluster: Any, make: Any, slack: Any) -> None:
    web_pod(cluster)
    engine = make()
    approval_id = pending_outcome(engine).detail["approval"]
    first = interactions(engine).handle(*click(approval_id, response_url=slack.response_url))
    second = interactions(engine).handle(*click(approval_id, OTHER_APPROVER, "deny",
                                                response_url=slack.response_url))
    assert second.status == 200
    assert second.body["text"].startswith(f"already decided (approved) by {APPROVER} (slack)")
    first.follow_up()
    second.follow_up()
    assert deletes(cluster) == ["/api/v1/namespaces/default/pods/web-1"]
    assert records.load_decision(engine.store, approval_id).by == APPROVER
    replies = [r for r in slack.responses if r.get("response_type") == "ephemeral"]
    assert replies and replies[0]["text"].startswith("already decided")


@pytest.mark.parametrize("mutate, status, reason", [
    ({"user": STRANGER}, 403, "not_approver"),
    ({"secret": "not-the-signing-secret"}, 401, "bad_signature"),
    ({"timestamp": int(time.time()) - 301}, 401, "stale_timestamp"),
    ({"approval_id": "f" * 32}, 403, "unknown_approval"),
    ({"approval_id": "../../etc"}, 403, "unknown_approval"),
])
def test_refused_clicks_change_nothing(cluster: Any, make: Any, slack: Any, mutate: Any,
                                       status: int, reason: str) -> None:
    web_pod(cluster)
    engine = make()
    approval_id = mutate.pop("approval_id", None) or pending_outcome(engine).detail["approval"]
    answer = interactions(engine).handle(*click(approval_id, **mutate))
    assert (answer.status, answer.refused) == (status, reason)
    assert answer.follow_up is None
    assert engine.store.scan(records.DEC) == []
    assert deletes(cluster) == []


def test_a_body_changed_after_signing_is_refused(cluster: Any, make: Any) -> None:
    web_pod(cluster)
    engine = make()
    approval_id = pending_outcome(engine).detail["approval"]
    headers, body = click(approval_id, STRANGER)
    forged = body.replace(STRANGER.encode(), APPROVER.encode())
    answer = interactions(engine).handle(headers, forged)
    assert (answer.status, answer.refused) == (401, "bad_signature")


def _expire(engine: Engine, approval_id: str) -> None:
    request = records.load_request(engine.store, approval_id)
    records.save_request(engine.store, msgspec.structs.replace(
        request, expires_at=time.time() - 1))


def test_timeout_deny(cluster: Any, make: Any, slack: Any) -> None:
    web_pod(cluster)
    engine = make()
    approval_id = pending_outcome(engine).detail["approval"]
    assert sweep(engine) == 0  # not yet expired
    _expire(engine, approval_id)
    assert sweep(engine) == 1
    assert sweep(engine) == 0  # once
    result = records.load_result(engine.store, approval_id)
    assert result.status == "skipped"
    assert result.reason == "no decision within 15m; denied by policy (on_timeout: deny)"
    assert deletes(cluster) == []
    (update,) = slack.updates  # no click, so chat.update of the posted message
    assert update["ts"] == "1700000000.0001" and update["channel"] == "C0APPROVE"
    validate_blocks(update)
    # a late click changes nothing
    late = interactions(engine).handle(*click(approval_id))
    assert late.body["text"].startswith("already decided (expired)")


def test_timeout_proceed(cluster: Any, make: Any, slack: Any) -> None:
    web_pod(cluster)
    engine = make(on_timeout="proceed")
    approval_id = pending_outcome(engine).detail["approval"]
    _expire(engine, approval_id)
    assert sweep(engine) == 1
    result = records.load_result(engine.store, approval_id)
    assert result.status == "ok"
    assert result.reason == "no decision within 15m; proceeding by policy; deleted (grace 0s)"
    assert deletes(cluster) == ["/api/v1/namespaces/default/pods/web-1"]


def test_target_gone_before_approval(cluster: Any, make: Any, slack: Any) -> None:
    web_pod(cluster)
    engine = make()
    approval_id = pending_outcome(engine).detail["approval"]
    del cluster.kmock.objects[PODS, "default", "web-1"]
    interactions(engine).handle(*click(approval_id)).follow_up()
    result = records.load_result(engine.store, approval_id)
    assert (result.status, result.reason.split("; ")[-1]) == ("ok", "already gone")
    assert deletes(cluster) == []


def test_target_replaced_before_approval_is_refused(cluster: Any, make: Any,
                                                    slack: Any) -> None:
    web_pod(cluster)
    engine = make()
    approval_id = pending_outcome(engine).detail["approval"]
    del cluster.kmock.objects[PODS, "default", "web-1"]
    web_pod(cluster, uid="uid-a-new-pod")
    interactions(engine).handle(*click(approval_id)).follow_up()
    result = records.load_result(engine.store, approval_id)
    assert result.status == "skipped"
    assert "refused: pod:default/web-1 was replaced since the request (uid " \
           "uid-default-web-1 -> uid-a-new-pod)" in result.reason
    assert deletes(cluster) == []
    assert cluster.obj(PODS, "default", "web-1") is not None


def test_target_annotated_before_approval_is_skipped(cluster: Any, make: Any) -> None:
    web_pod(cluster)
    engine = make()
    approval_id = pending_outcome(engine).detail["approval"]
    pod = cluster.obj(PODS, "default", "web-1")
    pod["metadata"]["annotations"]["falco-response.io/ignore"] = "true"
    cluster.add_pod(pod)
    interactions(engine).handle(*click(approval_id)).follow_up()
    result = records.load_result(engine.store, approval_id)
    assert result.status == "skipped" and "annotated falco-response.io/ignore=true" in \
        result.reason
    assert deletes(cluster) == []


def test_limit_refuses_the_request_and_is_checked_again(cluster: Any, make: Any,
                                                         slack: Any) -> None:
    for name in ("web-1", "web-2", "web-3"):
        web_pod(cluster, name)
    engine = make(settings={"limits": {"destructive": {"max": 1, "per": "1h"}}})
    first = pending_outcome(engine, "web-1").detail["approval"]
    second = pending_outcome(engine, "web-2").detail["approval"]  # slot given back: asked
    interactions(engine).handle(*click(first)).follow_up()
    assert records.load_result(engine.store, first).status == "ok"
    refused = pending_outcome(engine, "web-3")  # the one slot is used: not even asked
    assert refused.status is Status.SKIPPED and refused.reason.startswith("blast_radius")
    assert len(slack.posts) == 2
    interactions(engine).handle(*click(second)).follow_up()
    result = records.load_result(engine.store, second)
    assert result.status == "skipped" and "blast_radius" in result.reason
    assert deletes(cluster) == ["/api/v1/namespaces/default/pods/web-1"]


def test_response_level_approval_guards_its_destructive_actions(cluster: Any, make: Any,
                                                                 slack: Any) -> None:
    web_pod(cluster)
    out = pending_outcome(make(on_response=True))
    assert out.status is Status.PENDING


def test_store_failure_while_requesting_is_a_failed_outcome(cluster: Any, make: Any,
                                                            slack: Any, tmp_path: Any) -> None:
    from falco_response.state import StoreError

    web_pod(cluster)
    engine = make()

    class Broken:
        url = "sqlite:///broken"

        def close(self) -> None:
            pass

        def pauses(self) -> dict[str, Any]:  # the switch reads, so the request is what fails
            return {}

        def __getattr__(self, name: str) -> Any:
            def fail(*args: Any, **kwargs: Any) -> Any:
                raise StoreError("disk I/O error")
            return fail

    engine._store = Broken()
    out = pending_outcome(engine)
    assert out.status is Status.FAILED
    assert out.reason == "state store unavailable, not asking for approval: disk I/O error"
    assert slack.posts == [] and deletes(cluster) == []


def test_secrets_never_in_logs_outcomes_or_audit(cluster: Any, make: Any, slack: Any) -> None:
    web_pod(cluster)
    with structlog.testing.capture_logs() as events:
        engine = make()
        approval_id = pending_outcome(engine).detail["approval"]
        interactions(engine).handle(*click(approval_id, secret="wrong"))
        interactions(engine).handle(*click(approval_id)).follow_up()
    text = repr(events) + repr(engine.store.history(0)) + repr(engine.store.scan(""))
    assert SECRET not in text and TOKEN not in text


def test_a_click_after_the_timeout_does_not_approve(cluster: Any, make: Any,
                                                    slack: Any) -> None:
    web_pod(cluster)
    engine = make(on_timeout="deny")
    approval_id = pending_outcome(engine).detail["approval"]
    _expire(engine, approval_id)
    late = interactions(engine).handle(*click(approval_id, response_url=slack.response_url))
    assert late.status == 200
    assert late.body["text"].startswith("already decided (expired) by the timeout at ")
    late.follow_up()
    assert records.load_decision(engine.store, approval_id).verdict == "timeout"
    assert sweep(engine) == 1  # the policy (deny) is carried out, not the late click
    assert records.load_result(engine.store, approval_id).status == "skipped"
    assert deletes(cluster) == []


def test_a_request_slack_did_not_take_stays_pending_and_decidable(
        cluster: Any, kubeconfig: str, slack: Any, ca_bundle: str, store_url: str) -> None:
    from falco_response.approval.execute import decide, execute

    web_pod(cluster)
    data = config(kubeconfig, slack, ca_bundle, store_url)
    data["actions"]["ask-secops"]["with"]["api_url"] = slack.server.url_for("/nowhere/")
    engine = Engine.from_config(data)
    out = pending_outcome(engine)
    assert out.status is Status.PENDING
    assert "(not posted: posting through ask-secops failed: " in out.reason
    assert TOKEN not in out.reason
    approval_id = out.detail["approval"]
    assert f"decide with falco-response approve/deny {approval_id}" in out.reason
    assert deletes(cluster) == []
    assert decide(engine.store, approval_id, "approve", "cli:alice", "cli",
                  check_approver=False).won
    assert execute(engine, approval_id).status is Status.OK
    assert deletes(cluster) == ["/api/v1/namespaces/default/pods/web-1"]
    engine.close()


def test_cooldown_asks_once_per_target(cluster: Any, kubeconfig: str, slack: Any,
                                       ca_bundle: str, store_url: str) -> None:
    web_pod(cluster)
    data = config(kubeconfig, slack, ca_bundle, store_url)
    data["actions"]["kill"]["cooldown"] = "10m"
    engine = Engine.from_config(data)
    first = pending_outcome(engine)
    again = pending_outcome(engine)
    assert first.status is Status.PENDING
    assert again.status is Status.SKIPPED and again.reason.startswith("cooldown: already ran")
    assert len(slack.posts) == 1
    interactions(engine).handle(*click(first.detail["approval"])).follow_up()
    assert deletes(cluster) == ["/api/v1/namespaces/default/pods/web-1"]  # not refused by it
    engine.close()


def test_on_a_redis_store(cluster: Any, kubeconfig: str, slack: Any, ca_bundle: str,
                          redis_url: str) -> None:
    """Request, a double click, the run and a timeout, with redis-server holding it all."""
    web_pod(cluster)
    web_pod(cluster, "web-2")
    url = redis_url.replace("?prefix=", "?prefix=flow-")
    engine = Engine.from_config(config(kubeconfig, slack, ca_bundle, url))
    first = pending_outcome(engine).detail["approval"]
    second = pending_outcome(engine, "web-2").detail["approval"]
    assert engine.store.url.startswith("redis://")
    one = interactions(engine).handle(*click(first, response_url=slack.response_url))
    two = interactions(engine).handle(*click(first, OTHER_APPROVER, "deny"))
    assert two.body["text"].startswith(f"already decided (approved) by {APPROVER}")
    one.follow_up()
    assert records.load_result(engine.store, first).status == "ok"
    _expire(engine, second)
    assert sweep(engine) == 1
    assert records.load_result(engine.store, second).status == "skipped"
    assert deletes(cluster) == ["/api/v1/namespaces/default/pods/web-1"]
    engine.close()


def test_store_failure_while_deciding_is_a_503_and_decides_nothing(cluster: Any, make: Any,
                                                                   slack: Any) -> None:
    from falco_response.state import StoreError

    web_pod(cluster)
    engine = make()
    approval_id = pending_outcome(engine).detail["approval"]
    real = engine.store

    class Failing:
        url = real.url

        def __getattr__(self, name: str) -> Any:
            if name == "put_new":
                def fail(*args: Any, **kwargs: Any) -> Any:
                    raise StoreError("database is locked")
                return fail
            return getattr(real, name)

    engine._store = Failing()
    answer = interactions(engine).handle(*click(approval_id))
    assert (answer.status, answer.refused) == (503, "store_unavailable")
    assert answer.follow_up is None
    engine._store = real
    assert records.load_decision(real, approval_id) is None
    assert deletes(cluster) == []
