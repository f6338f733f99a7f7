"""The ``pagerduty`` action through the real engine (installed plugin, entry points) against a
TLS receiver on 127.0.0.1 that the official client trusts through ``ca_bundle``."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from pagerduty_support import ROUTING_KEY, Logs, alert, make_engine
from falco_response import ConfigError, Engine, Status
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

ENQUEUE = "/v2/enqueue"


def _accept(request: Request) -> Response:
    key = request.get_json().get("dedup_key", "generated")
    return Response(json.dumps({"status": "success", "message": "Event processed",
                                "dedup_key": key}), status=202,
                    content_type="application/json")


def _with(receiver: HTTPServer, ca_bundle: str, **extra: Any) -> dict[str, Any]:
    return {"routing_key": ROUTING_KEY, "base_url": receiver.url_for("/").rstrip("/"),
            "ca_bundle": ca_bundle, "retry_wait": 0.05, **extra}


def _secrets_absent(*texts: str) -> None:
    for text in texts:
        assert ROUTING_KEY not in text
        assert "KEYsecret" not in text
        assert ROUTING_KEY[-4:] not in text  # not even the client's "truncated key"


def test_plugin_is_installed_and_registers_pagerduty() -> None:
    # A config that uses the type loads the plugin from its entry point (one that does not
    # never imports it: the distribution declares the type in falco_response.actions).
    from falco_response.plugins import build_plugin_manager

    action_type = build_plugin_manager(action_types={"pagerduty"}).actions.get("pagerduty")
    assert action_type is not None and action_type.destructive is False


def test_trigger_event_field_by_field(receiver: HTTPServer, ca_bundle: str, logs: Logs) -> None:
    receiver.expect_request(ENQUEUE, method="POST").respond_with_handler(_accept)
    engine = make_engine(_with(receiver, ca_bundle),
                         before=[{"type": "test-delete"}, {"type": "test-taint"}])
    [result] = engine.handle(json.dumps(alert()))
    outcome = result.outcomes[-1]
    key = "Terminal shell in container|pod:payments/api-7f9"
    assert outcome.status is Status.OK, outcome
    assert outcome.target == "pagerduty:custom"
    assert outcome.reason == f"critical event sent (dedup key {key})"
    assert outcome.detail == {"dedup_key": key, "severity": "critical", "attempts": 1,
                              "http_status": 202}

    [(request, _)] = receiver.log
    assert request.headers["Content-Type"] == "application/json"
    body = request.get_json()
    assert set(body) == {"routing_key", "event_action", "dedup_key", "payload", "client"}
    assert body["routing_key"] == ROUTING_KEY
    assert body["event_action"] == "trigger"
    assert body["dedup_key"] == key
    assert body["client"] == "falco-response"
    payload = body["payload"]
    assert set(payload) == {"summary", "source", "severity", "timestamp", "class", "component",
                            "group", "custom_details"}
    assert payload["summary"] == ("Critical: Terminal shell in container on "
                                  "pod:payments/api-7f9 - " + alert()["output"])
    assert payload["source"] == "ip-10-0-1-5"
    assert payload["severity"] == "critical"
    assert payload["timestamp"] == "2023-05-25T13:44:05.478445+00:00"
    assert payload["class"] == "Terminal shell in container"
    assert payload["component"] == "api-7f9"
    assert payload["group"] == "payments"
    details = payload["custom_details"]
    assert details == {
        "rule": "Terminal shell in container",
        "priority": "Critical",
        "output": alert()["output"],
        "output_fields": alert()["output_fields"],
        "tags": ["container", "mitre_execution", "shell"],
        "hostname": "ip-10-0-1-5",
        "source": "syscall",
        "time": "2023-05-25T13:44:05.478445995Z",
        "uuid": "5f5a7c1e-2d7b-4a4e-9a3c-0c1d2e3f4a5b",
        "response": "contain-shells",
        "containment": [
            {"action": "test-delete", "status": "ok", "target": "pod:payments/api-7f9",
             "reason": "deleted"},
            {"action": "test-taint", "status": "dry_run", "target": "node:ip-10-0-1-5",
             "reason": "would taint node ip-10-0-1-5"},
        ],
    }
    _secrets_absent(logs.text(), repr(result.outcomes), json.dumps(result.to_dict()))


@pytest.mark.parametrize(("priority", "severity"), [
    ("Emergency", "critical"), ("Alert", "critical"), ("Critical", "critical"),
    ("Error", "error"), ("Warning", "warning"), ("Notice", "info"),
    ("Informational", "info"), ("Debug", "info"),
])
def test_severity_follows_priority(receiver: HTTPServer, ca_bundle: str, priority: str,
                                   severity: str) -> None:
    receiver.expect_request(ENQUEUE).respond_with_handler(_accept)
    engine = make_engine(_with(receiver, ca_bundle))
    [outcome] = engine.handle(alert(top_priority=priority))[0].outcomes
    assert outcome.detail["severity"] == severity
    assert receiver.log[0][0].get_json()["payload"]["severity"] == severity


def test_a_storm_of_1000_identical_alerts_shares_one_dedup_key(receiver: HTTPServer,
                                                               ca_bundle: str) -> None:
    receiver.expect_request(ENQUEUE).respond_with_handler(_accept)
    engine = make_engine(_with(receiver, ca_bundle))
    for i in range(1000):
        storm = alert(top_uuid=f"uuid-{i}", top_time=f"2023-05-25T13:44:{i % 60:02d}.{i:09d}Z",
                      proc__cmdline=f"sh -c 'attempt {i}'")
        [outcome] = engine.handle(storm)[0].outcomes
        assert outcome.status is Status.OK
    keys = {r.get_json()["dedup_key"] for r, _ in receiver.log}
    assert len(receiver.log) == 1000
    assert keys == {"Terminal shell in container|pod:payments/api-7f9"}
    # another pod is another incident
    engine.handle(alert(k8s__pod__name="api-8a0"))
    assert receiver.log[-1][0].get_json()["dedup_key"] == (
        "Terminal shell in container|pod:payments/api-8a0")


def test_dedup_template_pastes_values_and_never_interprets_them(receiver: HTTPServer,
                                                                ca_bundle: str) -> None:
    receiver.expect_request(ENQUEUE).respond_with_handler(_accept)
    engine = make_engine(_with(receiver, ca_bundle, dedup_key="falco/{namespace}/{rule}"))
    engine.handle(alert(k8s__ns__name="{rule}{0.__class__}%s"))
    engine.handle(alert(k8s__ns__name=None))
    first, second = (r.get_json()["dedup_key"] for r, _ in receiver.log)
    assert first == "falco/{rule}{0.__class__}%s/Terminal shell in container"
    assert second == "falco/-/Terminal shell in container"


def test_injected_and_huge_values_stay_plain_data(receiver: HTTPServer, ca_bundle: str) -> None:
    receiver.expect_request(ENQUEUE).respond_with_handler(_accept)
    engine = make_engine(_with(receiver, ca_bundle))
    evil = {"proc__cmdline": "<!channel> $(curl evil) {{7*7}} " + "x" * 10_000,
            "fd__name": "<http://evil|click here>", "k8s__pod__name": "<@U123>\nfake"}
    [outcome] = engine.handle(alert(top_output="y" * 10_000, **evil))[0].outcomes
    assert outcome.status is Status.OK
    payload = receiver.log[0][0].get_json()["payload"]
    assert len(payload["summary"]) == 1024 and payload["summary"].endswith(" [truncated]")
    assert "\n" not in payload["summary"]
    fields = payload["custom_details"]["output_fields"]
    assert fields["proc.cmdline"] == evil["proc__cmdline"]
    assert fields["fd.name"] == "<http://evil|click here>"
    assert payload["component"] == "<@U123>\nfake"
    assert payload["custom_details"]["output"] == "y" * 10_000


def test_details_stay_under_pagerdutys_size_limit(receiver: HTTPServer, ca_bundle: str) -> None:
    receiver.expect_request(ENQUEUE).respond_with_handler(_accept)
    engine = make_engine(_with(receiver, ca_bundle))
    many = {f"custom__f{i}": "z" * 10_000 for i in range(100)}  # 1 MB of fields
    [outcome] = engine.handle(alert(**many))[0].outcomes
    assert outcome.status is Status.OK
    [(request, _)] = receiver.log
    assert len(request.get_data()) < 512 * 1024
    details = request.get_json()["payload"]["custom_details"]
    assert details["truncated"] is True
    assert details["output_fields"]["custom.f7"] == "z" * 1012 + " [truncated]"


def test_429_with_retry_after_then_accepted(receiver: HTTPServer, ca_bundle: str,
                                            logs: Logs) -> None:
    receiver.expect_ordered_request(ENQUEUE).respond_with_json(
        {"status": "throttled"}, status=429, headers={"Retry-After": "1"})
    receiver.expect_ordered_request(ENQUEUE).respond_with_handler(_accept)
    engine = make_engine(_with(receiver, ca_bundle))
    [outcome] = engine.handle(alert())[0].outcomes
    assert outcome.status is Status.OK, outcome
    assert outcome.detail["attempts"] == 2
    receiver.check_assertions()
    _secrets_absent(logs.text(), repr(outcome))


def test_429_forever_is_capped(receiver: HTTPServer, ca_bundle: str, logs: Logs) -> None:
    receiver.expect_request(ENQUEUE).respond_with_json({"status": "throttled"}, status=429)
    engine = make_engine(_with(receiver, ca_bundle, max_attempts=3))
    [outcome] = engine.handle(alert())[0].outcomes
    assert outcome.status is Status.FAILED
    assert outcome.reason == "PagerDuty answered HTTP 429 after 3 attempts"
    assert len(receiver.log) == 3
    _secrets_absent(logs.text(), repr(outcome))


def test_repeated_5xx_ends_failed_inside_the_deadline(receiver: HTTPServer, ca_bundle: str,
                                                      logs: Logs) -> None:
    receiver.expect_request(ENQUEUE).respond_with_data("upstream down", status=503)
    engine = make_engine(_with(receiver, ca_bundle, max_attempts=20, retry_wait=0.2),
                         settings={"action_timeout": "2s"})
    [outcome] = engine.handle(alert())[0].outcomes
    assert outcome.status is Status.FAILED
    assert outcome.reason is not None
    assert outcome.reason.startswith("PagerDuty answered HTTP 503 after ")
    assert outcome.reason.endswith("; the next retry would pass the action's deadline")
    assert 2 <= outcome.detail["attempts"] == len(receiver.log) < 20
    assert outcome.duration_ms < 2000 + 500  # the deadline held (with scheduling slack)
    _secrets_absent(logs.text(), repr(outcome))


def test_400_is_failed_with_pagerdutys_message(receiver: HTTPServer, ca_bundle: str,
                                               logs: Logs) -> None:
    receiver.expect_request(ENQUEUE).respond_with_json(
        {"status": "invalid event", "message": "Event object is invalid",
         "errors": ["'payload.summary' is missing", f"routing key {ROUTING_KEY} unknown"]},
        status=400)
    engine = make_engine(_with(receiver, ca_bundle))
    [outcome] = engine.handle(alert())[0].outcomes
    assert outcome.status is Status.FAILED
    assert outcome.reason == ("PagerDuty rejected the event (HTTP 400): Event object is "
                              "invalid: 'payload.summary' is missing; routing key [redacted] "
                              "unknown")
    assert outcome.detail["http_status"] == 400 and outcome.detail["attempts"] == 1
    assert len(receiver.log) == 1
    _secrets_absent(logs.text(), repr(outcome))


def test_401_names_no_part_of_the_key(receiver: HTTPServer, ca_bundle: str,
                                      logs: Logs) -> None:
    receiver.expect_request(ENQUEUE).respond_with_data("Unauthorized", status=401)
    engine = make_engine(_with(receiver, ca_bundle))
    [outcome] = engine.handle(alert())[0].outcomes
    assert outcome.status is Status.FAILED
    assert outcome.reason == ("PagerDuty refused the routing key (HTTP 401): check routing_key "
                              "and region")
    _secrets_absent(logs.text(), repr(outcome))


def test_timeouts_are_retried_then_failed(receiver: HTTPServer, ca_bundle: str,
                                          logs: Logs) -> None:
    done = threading.Semaphore(0)

    def slow(_request: Request) -> Response:
        time.sleep(1.0)
        done.release()
        return _accept(_request)

    receiver.expect_request(ENQUEUE).respond_with_handler(slow)
    engine = make_engine(_with(receiver, ca_bundle, timeout=0.3, max_attempts=2))
    [outcome] = engine.handle(alert())[0].outcomes
    assert outcome.status is Status.FAILED
    assert outcome.reason == "could not reach PagerDuty (ReadTimeout) after 2 attempts"
    _secrets_absent(logs.text(), repr(outcome))
    assert done.acquire(timeout=5) and done.acquire(timeout=5)
    time.sleep(0.1)


def test_an_untrusted_certificate_is_a_network_failure(receiver: HTTPServer,
                                                       logs: Logs) -> None:
    engine = make_engine({"routing_key": ROUTING_KEY, "base_url": receiver.url_for("/"),
                          "max_attempts": 1})
    [outcome] = engine.handle(alert())[0].outcomes
    assert outcome.status is Status.FAILED
    assert outcome.reason == "could not reach PagerDuty (ConnectError) after 1 attempt"
    assert receiver.log == []
    _secrets_absent(logs.text(), repr(outcome))


def test_dry_run_sends_nothing(receiver: HTTPServer, ca_bundle: str) -> None:
    engine = make_engine(_with(receiver, ca_bundle), dry_run=True)
    [outcome] = engine.handle(alert(top_priority="Warning"))[0].outcomes
    assert outcome.status is Status.DRY_RUN
    assert outcome.reason == ("would trigger a warning PagerDuty event (dedup key Terminal shell "
                              "in container|pod:payments/api-7f9)")
    assert receiver.log == []
    _secrets_absent(repr(outcome))


@pytest.mark.parametrize(("with_", "message"), [
    ({"routing_key": ROUTING_KEY, "base_url": "http://events.example.com"},
     "base_url must be an https:// URL"),
    ({"routing_key": ROUTING_KEY, "region": "ap"}, "Invalid enum value 'ap'"),
    ({"routing_key": ROUTING_KEY, "dedup_key": "{rule}-{pod_uid}"},
     "dedup_key: unknown attribute {pod_uid}"),
    ({"routing_key": ROUTING_KEY, "dedup_key": "{rule.__class__}"}, "dedup_key: unexpected"),
    ({"routing_key": ROUTING_KEY, "dedup_key": "static"}, "must use at least one attribute"),
    ({"routing_key": ROUTING_KEY, "max_attempts": 0}, "max_attempts must be between 1 and 20"),
    ({"routing_key": " "}, "routing_key is empty"),
])
def test_bad_settings_are_config_errors(with_: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_engine(with_)
    assert message in str(caught.value)
    _secrets_absent(str(caught.value))


def test_region_selects_the_endpoint() -> None:
    from falco_response_pagerduty.params import PagerDutyParams, validate
    from falco_response_pagerduty.sending import Sender

    eu, _ = validate(PagerDutyParams(routing_key=ROUTING_KEY, region="eu"))
    us, _ = validate(PagerDutyParams(routing_key=ROUTING_KEY))
    assert eu == "https://events.eu.pagerduty.com"
    assert us == "https://events.pagerduty.com"
    client = Sender(ROUTING_KEY, eu, None)._client()
    assert client.normalize_url("/v2/enqueue") == "https://events.eu.pagerduty.com/v2/enqueue"



def test_config_load_does_not_import_the_client() -> None:
    """Config load builds the action; the client library waits for the first alert."""
    import subprocess
    import sys

    actions = "{'p': {'type': 'pagerduty', 'with': {'routing_key': 'k'}}}"
    heavy = "{'pagerduty', 'httpx2', 'httpx', 'tenacity'}"
    code = "\n".join([
        "import sys",
        "import falco_response_pagerduty as plugin",
        "from falco_response import Engine",
        f"config = {{'version': 1, 'actions': {actions}}}",
        "Engine.from_config(config, plugins=[plugin], entry_points=False)",
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy}))",
    ])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
