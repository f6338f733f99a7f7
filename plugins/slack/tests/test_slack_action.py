"""The ``slack`` action through the real engine (installed plugin, entry points) against a
TLS receiver on 127.0.0.1: payloads, Slack's answers, retries, deadlines, secrets."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from slack_support import TOKEN, WEBHOOK_SECRET_PART, Logs, alert, make_engine
from falco_response import ConfigError, Engine, Status
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

WEBHOOK_PATH = f"/services/{WEBHOOK_SECRET_PART}"


def _secrets_absent(*texts: str) -> None:
    for text in texts:
        assert WEBHOOK_SECRET_PART not in text
        assert "XXXXwebhookSECRET" not in text
        assert TOKEN not in text and "TOKENsecret" not in text


def _outcome_text(results: list[Any]) -> str:
    return json.dumps([r.to_dict() for r in results]) + repr(
        [o for r in results for o in r.outcomes])


def test_plugin_is_installed_and_registers_slack() -> None:
    # A config that uses the type loads the plugin from its entry point (one that does not
    # never imports it: the distribution declares the type in falco_response.actions).
    from falco_response.plugins import build_plugin_manager

    action_type = build_plugin_manager(action_types={"slack"}).actions.get("slack")
    assert action_type is not None
    assert action_type.destructive is False
    assert action_type.plugin


def test_webhook_posts_the_full_message_after_containment(
        receiver: HTTPServer, webhook_url: str, ca_bundle: str, logs: Logs) -> None:
    receiver.expect_oneshot_request(WEBHOOK_PATH, method="POST").respond_with_data("ok")
    engine = make_engine({"webhook_url": webhook_url, "ca_bundle": ca_bundle,
                          "mention": "<!here>"},
                         before=[{"type": "test-delete"}, {"type": "test-taint"}])
    [result] = engine.handle(json.dumps(alert()))
    kill, taint, slack = result.outcomes
    assert slack.status is Status.OK, slack
    assert (slack.target, slack.reason) == ("slack:webhook", "message posted")
    assert slack.detail == {"http_status": 200, "attempts": 1}

    [(request, _)] = receiver.log
    assert request.headers["Content-Type"].startswith("application/json")
    body = request.get_json()
    assert set(body) == {"text", "blocks", "attachments", "unfurl_links", "unfurl_media"}
    assert body["text"] == "<!here> Critical: Terminal shell in container (pod payments/api-7f9)"
    assert body["blocks"][0]["text"]["text"] == (
        ":rotating_light: Critical: Terminal shell in container")
    assert body["blocks"][1]["text"]["text"] == (
        "<!here> :rotating_light: *Critical* alert from Falco")
    [attachment] = body["attachments"]
    assert attachment["color"] == "#e01e5a"
    fields = dict(f["text"].split("\n", 1) for f in attachment["blocks"][0]["fields"])
    assert fields == {
        "*Priority*": "`Critical`", "*Namespace*": "`payments`", "*Pod*": "`api-7f9`",
        "*Node*": "`ip-10-0-1-5`", "*Container*": "`ee97d9c4186f`",
        "*Image*": "`docker.io/library/alpine:3.19`", "*User*": "`root`",
        "*Command*": "`sh -c clear`", "*Parent*": "`runc`", "*File*": "`/etc/shadow`"}
    assert attachment["blocks"][1]["text"]["text"].startswith(
        "*Alert*\n```Rule: Terminal shell in container\n13:44:05.478445995: Critical A shell")
    assert attachment["blocks"][2]["text"]["text"] == (
        "*Earlier actions of response `contain-shells`*\n"
        "\u2022 `pod payments/api-7f9 deleted`\n"
        "\u2022 `dry run: would taint node ip-10-0-1-5`")
    assert attachment["blocks"][3]["elements"][0]["text"] == (
        "Time: `2023-05-25T13:44:05.478445995Z`")
    _secrets_absent(logs.text(), _outcome_text([result]))


def test_mention_only_at_or_above_the_threshold(receiver: HTTPServer, webhook_url: str,
                                                ca_bundle: str) -> None:
    receiver.expect_request(WEBHOOK_PATH).respond_with_data("ok")
    engine = make_engine({"webhook_url": webhook_url, "ca_bundle": ca_bundle,
                          "mention": "<!subteam^S0ABC>", "mention_min_priority": "error"})
    engine.handle(alert(top_priority="Warning"))
    engine.handle(alert(top_priority="Error"))
    warning, error = (r.get_json() for r, _ in receiver.log)
    assert "subteam" not in json.dumps(warning)
    assert warning["text"].startswith("Warning: ")
    assert warning["attachments"][0]["color"] == "#ecb22e"
    assert error["text"].startswith("<!subteam^S0ABC> Error: ")


def test_injection_through_the_engine_arrives_escaped(receiver: HTTPServer, webhook_url: str,
                                                      ca_bundle: str) -> None:
    receiver.expect_request(WEBHOOK_PATH).respond_with_data("ok")
    engine = make_engine({"webhook_url": webhook_url, "ca_bundle": ca_bundle})
    evil = alert(proc__cmdline="<!channel> <http://evil.example|click here> " + "x" * 10_000,
                 fd__name="<@U123>", k8s__pod__name="<!here>*bold*",
                 top_output="<!channel> " + "y" * 10_000)
    [result] = engine.handle(evil)
    assert result.outcomes[0].status is Status.OK
    [(request, _)] = receiver.log
    raw = request.get_data(as_text=True)
    assert "<" not in raw.replace("\\u003c", "<").replace("&lt;", "")
    body = json.loads(raw)
    for block in body["attachments"][0]["blocks"]:
        for text in [block.get("text")] + block.get("fields", []) + block.get("elements", []):
            if text:
                assert len(text["text"]) <= (3000 if "text" in block else 2000)
    assert "[truncated]" in raw


def test_token_mode_posts_with_chat_postmessage(receiver: HTTPServer, ca_bundle: str,
                                                logs: Logs) -> None:
    receiver.expect_request("/api/chat.postMessage", method="POST").respond_with_json(
        {"ok": True, "channel": "C0123456789", "ts": "1685022245.000100"})
    engine = make_engine({"token": TOKEN, "channel": "C0123456789", "ca_bundle": ca_bundle,
                          "api_url": receiver.url_for("/api/")})
    [result] = engine.handle(alert())
    [outcome] = result.outcomes
    assert outcome.status is Status.OK
    assert outcome.target == "slack:C0123456789"
    assert outcome.detail == {"http_status": 200, "attempts": 1, "channel": "C0123456789",
                              "ts": "1685022245.000100"}
    [(request, _)] = receiver.log
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    body = request.get_json()
    assert body["channel"] == "C0123456789"
    assert body["text"] == "Critical: Terminal shell in container (pod payments/api-7f9)"
    assert body["attachments"][0]["color"] == "#e01e5a"
    assert body["unfurl_links"] is False
    _secrets_absent(logs.text(), _outcome_text([result]))


def test_token_mode_error_code_becomes_a_failed_outcome(receiver: HTTPServer, ca_bundle: str,
                                                        logs: Logs) -> None:
    receiver.expect_request("/api/chat.postMessage").respond_with_json(
        {"ok": False, "error": "channel_not_found"})
    engine = make_engine({"token": TOKEN, "channel": "#nope", "ca_bundle": ca_bundle,
                          "api_url": receiver.url_for("/api/")})
    [outcome] = engine.handle(alert())[0].outcomes
    assert outcome.status is Status.FAILED
    assert outcome.reason == "Slack answered HTTP 200: channel_not_found"
    assert outcome.detail["error"] == "channel_not_found"
    _secrets_absent(logs.text(), repr(outcome))


@pytest.mark.parametrize(("status", "body", "reason"), [
    (404, "no_service", "Slack answered HTTP 404: no_service"),
    (400, "invalid_blocks", "Slack answered HTTP 400: invalid_blocks"),
    (403, "invalid_token", "Slack answered HTTP 403: invalid_token"),
    (200, "<html>proxy says hi</html>", "Slack answered HTTP 200: htmlproxy says hihtml"),
])
def test_webhook_non_ok_answers_are_failed_with_slacks_code(
        receiver: HTTPServer, webhook_url: str, ca_bundle: str, logs: Logs,
        status: int, body: str, reason: str) -> None:
    receiver.expect_request(WEBHOOK_PATH).respond_with_data(body, status=status)
    engine = make_engine({"webhook_url": webhook_url, "ca_bundle": ca_bundle})
    [outcome] = engine.handle(alert())[0].outcomes
    assert outcome.status is Status.FAILED
    assert outcome.reason == reason
    assert outcome.detail["http_status"] == status
    assert len(receiver.log) == 1
    _secrets_absent(logs.text(), repr(outcome))


def test_429_with_retry_after_is_retried_then_succeeds(
        receiver: HTTPServer, webhook_url: str, ca_bundle: str, logs: Logs) -> None:
    receiver.expect_ordered_request(WEBHOOK_PATH).respond_with_data(
        "rate_limited", status=429, headers={"Retry-After": "1"})
    receiver.expect_ordered_request(WEBHOOK_PATH).respond_with_data("ok")
    engine = make_engine({"webhook_url": webhook_url, "ca_bundle": ca_bundle})
    [outcome] = engine.handle(alert())[0].outcomes
    assert outcome.status is Status.OK, outcome
    assert outcome.detail["attempts"] == 2
    first, second = (r for r, _ in receiver.log)
    assert first.get_data() == second.get_data()
    receiver.check_assertions()
    _secrets_absent(logs.text(), repr(outcome))


def test_429_whose_wait_would_pass_the_deadline_fails_at_once(
        receiver: HTTPServer, webhook_url: str, ca_bundle: str, logs: Logs) -> None:
    receiver.expect_request(WEBHOOK_PATH).respond_with_data(
        "rate_limited", status=429, headers={"Retry-After": "30"})
    engine = make_engine({"webhook_url": webhook_url, "ca_bundle": ca_bundle},
                         settings={"action_timeout": "5s"})
    [result] = engine.handle(alert())
    [outcome] = result.outcomes
    assert outcome.status is Status.FAILED
    assert outcome.reason.startswith("Slack answered HTTP 429: rate_limited (the next retry")
    assert "would pass the action's deadline" in outcome.reason
    assert len(receiver.log) == 1
    assert outcome.duration_ms < 5000
    _secrets_absent(logs.text(), repr(outcome))


def test_repeated_5xx_ends_failed_inside_the_deadline(
        receiver: HTTPServer, webhook_url: str, ca_bundle: str, logs: Logs) -> None:
    receiver.expect_request(WEBHOOK_PATH).respond_with_data("internal_error", status=500)
    engine = make_engine({"webhook_url": webhook_url, "ca_bundle": ca_bundle},
                         settings={"action_timeout": "5s"})
    [outcome] = engine.handle(alert())[0].outcomes
    assert outcome.status is Status.FAILED
    assert outcome.reason == "Slack answered HTTP 500: internal_error"
    assert outcome.detail["attempts"] == 2
    assert len(receiver.log) == 2
    assert outcome.duration_ms < 5000
    _secrets_absent(logs.text(), repr(outcome))


def test_a_slow_slack_times_out_as_a_failed_outcome(
        receiver: HTTPServer, webhook_url: str, ca_bundle: str, logs: Logs) -> None:
    finished = threading.Event()

    def slow(_request: Request) -> Response:
        time.sleep(1.5)
        finished.set()
        return Response("ok")

    receiver.expect_request(WEBHOOK_PATH).respond_with_handler(slow)
    engine = make_engine({"webhook_url": webhook_url, "ca_bundle": ca_bundle, "timeout": 0.3})
    [outcome] = engine.handle(alert())[0].outcomes
    assert outcome.status is Status.FAILED
    assert outcome.reason is not None and outcome.reason.startswith("could not reach Slack:")
    assert "timed out" in outcome.reason
    _secrets_absent(logs.text(), repr(outcome))
    assert finished.wait(5)  # let the receiver finish before the next test clears it
    for _ in range(100):
        if receiver.log:
            break
        time.sleep(0.02)


def test_an_untrusted_certificate_fails_without_leaking_the_url(
        receiver: HTTPServer, webhook_url: str, logs: Logs) -> None:
    receiver.expect_request(WEBHOOK_PATH).respond_with_data("ok")
    engine = make_engine({"webhook_url": webhook_url})
    [outcome] = engine.handle(alert())[0].outcomes
    assert outcome.status is Status.FAILED
    assert "CERTIFICATE_VERIFY_FAILED" in (outcome.reason or "")
    assert receiver.log == []
    _secrets_absent(logs.text(), repr(outcome))


def test_dry_run_sends_nothing(receiver: HTTPServer, webhook_url: str, ca_bundle: str) -> None:
    engine = make_engine({"webhook_url": webhook_url, "ca_bundle": ca_bundle}, dry_run=True)
    [outcome] = engine.handle(alert())[0].outcomes
    assert outcome.status is Status.DRY_RUN
    assert outcome.reason == ("would post to slack webhook: Critical: Terminal shell in "
                              "container (pod payments/api-7f9)")
    assert outcome.detail == {"mention": False, "blocks": 4}
    assert receiver.log == []
    _secrets_absent(repr(outcome))


@pytest.mark.parametrize(("with_", "message"), [
    ({}, "set exactly one of webhook_url or token"),
    ({"webhook_url": "https://hooks.slack.com/services/" + WEBHOOK_SECRET_PART, "token": TOKEN},
     "set exactly one of webhook_url or token"),
    ({"webhook_url": "http://hooks.slack.com/services/" + WEBHOOK_SECRET_PART},
     "webhook_url must be an https:// URL"),
    ({"token": TOKEN}, "token mode needs a channel"),
    ({"webhook_url": "https://hooks.slack.com/services/" + WEBHOOK_SECRET_PART,
      "mention": "@here"}, "mention must be Slack mention syntax"),
    ({"webhook_url": "https://hooks.slack.com/services/" + WEBHOOK_SECRET_PART,
      "mention_min_priority": "severe"}, "mention_min_priority: unknown priority"),
    ({"webhook_url": "https://hooks.slack.com/services/" + WEBHOOK_SECRET_PART,
      "colour": "red"}, "Object contains unknown field `colour`"),
])
def test_bad_settings_are_config_errors_that_hide_secrets(with_: dict[str, Any],
                                                          message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_engine(with_)
    text = str(caught.value)
    assert message in text
    assert "actions.tell-secops.with" in text
    _secrets_absent(text)



def test_config_load_does_not_import_slack_sdk() -> None:
    """Config load builds the action; the client library waits for the first alert."""
    import subprocess
    import sys

    actions = "{'s': {'type': 'slack', 'with': {'webhook_url': 'https://h.example/x'}}}"
    heavy = "{'slack_sdk', 'urllib3'}"
    code = "\n".join([
        "import sys",
        "import falco_response_slack as plugin",
        "from falco_response import Engine",
        f"config = {{'version': 1, 'actions': {actions}}}",
        "Engine.from_config(config, plugins=[plugin], entry_points=False)",
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy}))",
    ])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
