"""The ``webhook`` action through the real engine (installed plugin, entry points) against
receivers on 127.0.0.1: payload, headers, signature, retries, deadlines, secrets."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from typing import Any

import pytest
from webhook_support import API_KEY, BEARER, QUERY_TOKEN, SECRET, Logs, alert, make_engine
from falco_response import ConfigError, Engine, Status, alert_from_dict
from falco_response_webhook.signing import signature, verify
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


def _with(url: str, ca_bundle: str, **extra: Any) -> dict[str, Any]:
    return {"url": url, "ca_bundle": ca_bundle, "retry_wait": 0.05, **extra}


def _secrets_absent(*texts: str) -> None:
    for text in texts:
        for secret in (BEARER, SECRET, API_KEY, QUERY_TOKEN):
            assert secret not in text


def test_plugin_is_installed_and_registers_webhook() -> None:
    # A config that uses the type loads the plugin from its entry point (one that does not
    # never imports it: the distribution declares the type in falco_response.actions).
    from falco_response.plugins import build_plugin_manager

    action_type = build_plugin_manager(action_types={"webhook"}).actions.get("webhook")
    assert action_type is not None and action_type.destructive is False


def test_posts_alert_and_outcomes_with_headers_and_signature(
        receiver: HTTPServer, hook_url: str, ca_bundle: str, logs: Logs) -> None:
    receiver.expect_request("/falco", method="POST",
                            query_string={"token": QUERY_TOKEN}).respond_with_data("", 204)
    engine = make_engine(_with(hook_url, ca_bundle, bearer_token=BEARER, secret=SECRET,
                               headers={"X-Api-Key": API_KEY, "X-Team": "secops"}),
                         before=[{"type": "test-delete"}, {"type": "test-taint"}])
    before = int(time.time())
    [result] = engine.handle(json.dumps(alert()))
    outcome = result.outcomes[-1]
    assert outcome.status is Status.OK, outcome
    port = receiver.port
    assert outcome.target == f"webhook:127.0.0.1:{port}"
    assert outcome.reason == "delivered (HTTP 204)"
    [(request, _)] = receiver.log
    raw = request.get_data()
    assert outcome.detail == {"bytes": len(raw), "signed": True, "http_status": 204,
                              "attempts": 1}

    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Authorization"] == f"Bearer {BEARER}"
    assert request.headers["X-Api-Key"] == API_KEY
    assert request.headers["X-Team"] == "secops"
    assert request.headers["User-Agent"] == "falco-response-webhook/0.1"
    timestamp = request.headers["X-Falco-Response-Timestamp"]
    assert before <= int(timestamp) <= int(time.time())
    expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + raw,
                        hashlib.sha256).hexdigest()
    assert request.headers["X-Falco-Response-Signature"] == f"sha256={expected}"
    assert verify(SECRET, dict(request.headers), raw)

    body = json.loads(raw)
    assert body == {
        "alert": alert_from_dict(alert()).to_dict(),
        "response": "contain-shells",
        "action": "forward",
        "outcomes": [
            {"response": "contain-shells", "action": "test-delete", "status": "ok",
             "target": "pod:payments/api-7f9", "reason": "deleted"},
            {"response": "contain-shells", "action": "test-taint", "status": "dry_run",
             "target": "node:ip-10-0-1-5", "reason": "would taint node ip-10-0-1-5"},
        ],
    }
    assert body["alert"]["output_fields"]["proc.cmdline"] == "sh -c clear"
    assert body["alert"]["time"] == "2023-05-25T13:44:05.478445995Z"
    _secrets_absent(logs.text(), repr(result.outcomes), json.dumps(result.to_dict()))


def test_signature_rejects_tampering_replay_and_wrong_secrets() -> None:
    body = b'{"alert":{}}'
    now = 1_700_000_000
    headers = {"x-falco-response-timestamp": str(now),
               "X-FALCO-RESPONSE-SIGNATURE": signature(SECRET, now, body)}
    assert verify(SECRET, headers, body, now=now + 10)
    assert not verify(SECRET, headers, body + b" ", now=now)
    assert not verify("another-secret-0123456789", headers, body, now=now)
    assert not verify(SECRET, headers, body, now=now + 301)  # a replay, five minutes on
    moved = dict(headers, **{"x-falco-response-timestamp": str(now + 400)})
    assert not verify(SECRET, moved, body, now=now + 400)  # old signature, fresh timestamp
    assert not verify(SECRET, {}, body, now=now)


def test_custom_signature_header_names(receiver: HTTPServer, hook_url: str,
                                       ca_bundle: str) -> None:
    receiver.expect_request("/falco").respond_with_data("ok")
    engine = make_engine(_with(hook_url, ca_bundle, secret=SECRET,
                               signature_header="X-Signature", timestamp_header="X-Sent-At"))
    engine.handle(alert())
    [(request, _)] = receiver.log
    assert verify(SECRET, dict(request.headers), request.get_data(),
                  signature_header="X-Signature", timestamp_header="X-Sent-At")
    assert "X-Falco-Response-Signature" not in request.headers


def test_attacker_strings_arrive_as_exact_json(receiver: HTTPServer, hook_url: str,
                                               ca_bundle: str) -> None:
    receiver.expect_request("/falco").respond_with_data("ok")
    engine = make_engine(_with(hook_url, ca_bundle))
    evil = {"proc__cmdline": "<!channel> \"}, {\"injected\": 1} \u2028 $(id) " + "x" * 10_000,
            "fd__name": "<http://evil|click here>\x00\n", "k8s__pod__name": "p\u00f6d-\U0001f600"}
    [outcome] = engine.handle(alert(**evil))[0].outcomes
    assert outcome.status is Status.OK
    fields = json.loads(receiver.log[0][0].get_data())["alert"]["output_fields"]
    assert fields["proc.cmdline"] == evil["proc__cmdline"]
    assert fields["fd.name"] == evil["fd__name"]
    assert fields["k8s.pod.name"] == evil["k8s__pod__name"]


def test_429_with_retry_after_then_200_is_resigned(receiver: HTTPServer, hook_url: str,
                                                   ca_bundle: str, logs: Logs) -> None:
    receiver.expect_ordered_request("/falco").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "1"})
    receiver.expect_ordered_request("/falco").respond_with_data("ok")
    engine = make_engine(_with(hook_url, ca_bundle, secret=SECRET))
    [outcome] = engine.handle(alert())[0].outcomes
    assert outcome.status is Status.OK, outcome
    assert outcome.detail["attempts"] == 2
    first, second = (r for r, _ in receiver.log)
    assert first.get_data() == second.get_data()
    assert int(second.headers["X-Falco-Response-Timestamp"]) >= int(
        first.headers["X-Falco-Response-Timestamp"])
    assert all(verify(SECRET, dict(r.headers), r.get_data()) for r in (first, second))
    receiver.check_assertions()
    _secrets_absent(logs.text(), repr(outcome))


def test_5xx_is_retried_a_bounded_number_of_times(receiver: HTTPServer, hook_url: str,
                                                  ca_bundle: str, logs: Logs) -> None:
    receiver.expect_request("/falco").respond_with_data("down", status=502)
    engine = make_engine(_with(hook_url, ca_bundle, max_attempts=3))
    [outcome] = engine.handle(alert())[0].outcomes
    assert outcome.status is Status.FAILED
    assert outcome.reason == "webhook answered HTTP 502 after 3 attempts"
    assert len(receiver.log) == 3
    _secrets_absent(logs.text(), repr(outcome))


def test_repeated_5xx_ends_failed_inside_the_deadline(receiver: HTTPServer, hook_url: str,
                                                      ca_bundle: str, logs: Logs) -> None:
    receiver.expect_request("/falco").respond_with_data("down", status=500)
    engine = make_engine(_with(hook_url, ca_bundle, max_attempts=20, retry_wait=0.2),
                         settings={"action_timeout": "2s"})
    [outcome] = engine.handle(alert())[0].outcomes
    assert outcome.status is Status.FAILED
    assert outcome.reason is not None and outcome.reason.startswith(
        "webhook answered HTTP 500 after ")
    assert outcome.reason.endswith("; the next retry would pass the action's deadline")
    assert 2 <= outcome.detail["attempts"] == len(receiver.log) < 20
    assert outcome.duration_ms < 2000 + 500  # the deadline held (with scheduling slack)
    _secrets_absent(logs.text(), repr(outcome))


@pytest.mark.parametrize(("status", "reason"), [
    (404, "webhook answered HTTP 404"),
    (401, "webhook answered HTTP 401"),
    (302, "webhook answered HTTP 302; redirects are not followed"),
])
def test_other_answers_fail_without_retry(receiver: HTTPServer, hook_url: str, ca_bundle: str,
                                          logs: Logs, status: int, reason: str) -> None:
    receiver.expect_request("/falco").respond_with_data(
        "no", status=status, headers={"Location": "https://127.0.0.1:1/elsewhere"})
    engine = make_engine(_with(hook_url, ca_bundle, bearer_token=BEARER))
    [outcome] = engine.handle(alert())[0].outcomes
    assert outcome.status is Status.FAILED
    assert outcome.reason == reason
    assert len(receiver.log) == 1
    _secrets_absent(logs.text(), repr(outcome))


def test_a_slow_receiver_times_out_and_is_retried(receiver: HTTPServer, hook_url: str,
                                                  ca_bundle: str, logs: Logs) -> None:
    done = threading.Semaphore(0)

    def slow(_request: Request) -> Response:
        time.sleep(1.0)
        done.release()
        return Response("ok")

    receiver.expect_request("/falco").respond_with_handler(slow)
    engine = make_engine(_with(hook_url, ca_bundle, timeout=0.3, max_attempts=2))
    [outcome] = engine.handle(alert())[0].outcomes
    assert outcome.status is Status.FAILED
    assert outcome.reason == "could not reach the webhook (TimeoutError) after 2 attempts"
    _secrets_absent(logs.text(), repr(outcome))
    assert done.acquire(timeout=5) and done.acquire(timeout=5)
    time.sleep(0.1)


def test_connection_refused_is_retried_then_failed(ca_bundle: str, logs: Logs) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    engine = make_engine(_with(f"https://127.0.0.1:{port}/falco?token={QUERY_TOKEN}",
                               ca_bundle, max_attempts=3))
    [outcome] = engine.handle(alert())[0].outcomes
    assert outcome.status is Status.FAILED
    assert outcome.reason == "could not reach the webhook (ConnectionRefusedError) after 3 attempts"
    assert outcome.detail["attempts"] == 3
    _secrets_absent(logs.text(), repr(outcome))


def test_an_untrusted_certificate_fails_at_once(receiver: HTTPServer, hook_url: str,
                                                logs: Logs) -> None:
    engine = make_engine({"url": hook_url, "retry_wait": 0.05})
    [outcome] = engine.handle(alert())[0].outcomes
    assert outcome.status is Status.FAILED
    assert outcome.reason == ("the webhook's TLS certificate is not trusted "
                              "(CERTIFICATE_VERIFY_FAILED); see ca_bundle")
    assert outcome.detail["attempts"] == 1
    assert receiver.log == []
    _secrets_absent(logs.text(), repr(outcome))


def test_plain_http_only_when_allowed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/in-cluster").respond_with_data("ok")
    url = httpserver.url_for("/in-cluster")
    with pytest.raises(ConfigError, match="url is plain http"):
        make_engine({"url": url})
    engine = make_engine({"url": url, "allow_http": True})
    [outcome] = engine.handle(alert())[0].outcomes
    assert outcome.status is Status.OK
    assert len(httpserver.log) == 1


def test_dry_run_sends_nothing(receiver: HTTPServer, hook_url: str, ca_bundle: str) -> None:
    engine = make_engine(_with(hook_url, ca_bundle, secret=SECRET), dry_run=True)
    [outcome] = engine.handle(alert())[0].outcomes
    assert outcome.status is Status.DRY_RUN
    assert outcome.reason is not None
    assert outcome.reason.startswith("would POST the alert (")
    assert outcome.reason.endswith(f" bytes) to webhook:127.0.0.1:{receiver.port}")
    assert receiver.log == []
    _secrets_absent(repr(outcome))


@pytest.mark.parametrize(("with_", "message"), [
    ({"url": "ftp://example.com/x"}, "url must be an https:// URL"),
    ({"url": f"https://user:{BEARER}@example.com/"}, "url must not carry credentials"),
    ({"url": "https://example.com/", "headers": {"Content-Type": "text/plain"}},
     "content-type is set by the action itself"),
    ({"url": "https://example.com/", "headers": {"X-Bad": f"{API_KEY}\r\nX-Evil: 1"}},
     "the value of X-Bad contains a line break"),
    ({"url": "https://example.com/", "headers": {"Bad Name": "v"}}, "is not a valid header"),
    ({"url": "https://example.com/", "bearer_token": BEARER,
      "headers": {"Authorization": "Basic x"}}, "set bearer_token or an Authorization header"),
    ({"url": "https://example.com/", "secret": "short"}, "secret must be at least 16"),
    ({"url": "https://example.com/", "max_attempts": 50}, "max_attempts must be between"),
])
def test_bad_settings_are_config_errors(with_: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_engine(with_)
    assert message in str(caught.value)
    _secrets_absent(str(caught.value))



def test_config_load_does_not_import_tenacity() -> None:
    """Config load builds the action; the client library waits for the first alert."""
    import subprocess
    import sys

    actions = "{'w': {'type': 'webhook', 'with': {'url': 'https://h.example/x'}}}"
    heavy = "{'tenacity', 'urllib3'}"
    code = "\n".join([
        "import sys",
        "import falco_response_webhook as plugin",
        "from falco_response import Engine",
        f"config = {{'version': 1, 'actions': {actions}}}",
        "Engine.from_config(config, plugins=[plugin], entry_points=False)",
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy}))",
    ])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
