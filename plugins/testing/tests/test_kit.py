"""The kit as a plugin's tests use it: fixtures from the pytest11 entry point, real TLS,
scripted failures, and a log check that fails on a leaked secret."""

from __future__ import annotations

import logging
import ssl
import urllib.error
import urllib.request
from typing import Any

import pytest
import structlog
from falco_response import Status, alert_from_dict, hookimpl
from falco_response_testing import (ALERT, Logs, alert, answer, answer_slowly, engine_with,
                                    requests_to)
from pytest_httpserver import HTTPServer


def _post(url: str, ca_bundle: str, timeout: float = 5.0) -> tuple[int, dict[str, str]]:
    context = ssl.create_default_context(cafile=ca_bundle)
    request = urllib.request.Request(url, data=b'{"a": 1}', method="POST")
    try:
        with urllib.request.urlopen(request, context=context, timeout=timeout) as answer_:
            return answer_.status, dict(answer_.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def test_alert_builder_changes_fields_and_top_level_keys_on_a_copy() -> None:
    data = alert(k8s__pod__name="web-1", top_priority="Warning")
    parsed = alert_from_dict(data)
    assert (parsed.pod_name, parsed.pod_namespace, parsed.priority.name) == \
        ("web-1", "payments", "WARNING")
    assert ALERT["output_fields"]["k8s.pod.name"] == "api-7f9"  # the sample is untouched


class Echo:
    @hookimpl
    def register_actions(self, register: Any) -> None:
        register("echo", lambda params: lambda ctx: ctx.ok(
            reason=" then ".join(o.action for o in ctx.previous) or "first"), blocking=False)


def test_engine_with_runs_the_containment_stand_ins_before_the_action() -> None:
    config_before = [{"type": "test-delete"}]
    engine = engine_with("echo", {}, before=config_before, plugins=[Echo()])
    [result] = engine.handle(alert())
    assert [(o.action, o.status, o.reason) for o in result.outcomes] == \
        [("test-delete", Status.OK, "deleted"), ("under-test", Status.OK, "test-delete")]


def test_receiver_is_tls_with_the_kit_ca_and_records_requests(receiver: HTTPServer,
                                                               ca_bundle: str) -> None:
    receiver.expect_request("/hook", method="POST").respond_with_data("ok")
    assert receiver.url_for("/hook").startswith("https://127.0.0.1:")
    assert _post(receiver.url_for("/hook"), ca_bundle)[0] == 200
    [request] = requests_to(receiver, "/hook")
    assert request.get_data() == b'{"a": 1}'
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(receiver.url_for("/hook"), data=b"x", timeout=5)


def test_receiver_answers_429_with_retry_after_then_5xx_then_ok(receiver: HTTPServer,
                                                               ca_bundle: str) -> None:
    answer(receiver, "/hook", 429, retry_after=0.5, times=1)
    answer(receiver, "/hook", 503, times=2)
    answer(receiver, "/hook", 200, "ok", times=1)
    url = receiver.url_for("/hook")
    status, headers = _post(url, ca_bundle)
    assert (status, headers.get("Retry-After")) == (429, "0.5")
    assert [_post(url, ca_bundle)[0] for _ in range(3)] == [503, 503, 200]
    assert len(requests_to(receiver, "/hook")) == 4


def test_receiver_answers_slowly_so_a_client_times_out(receiver: HTTPServer,
                                                      ca_bundle: str) -> None:
    answer_slowly(receiver, "/slow", 2.0)
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        _post(receiver.url_for("/slow"), ca_bundle, timeout=0.2)


def test_logs_fail_on_a_secret_in_structlog_stdlib_or_an_outcome(logs: Logs) -> None:
    secret = "xoxb-SECRET-0123456789"
    logs.assert_no_secret(secret, also=["reason: sent"])  # nothing leaked yet
    structlog.get_logger().info("posted", url="https://hooks.example/services/redacted")
    logging.getLogger("urllib3").debug("POST /x HTTP/1.1")
    logs.assert_no_secret(secret)
    assert "posted" in logs.text() and "urllib3 POST /x" in logs.text()
    logging.getLogger("urllib3").debug("Authorization: Bearer %s", secret)
    with pytest.raises(pytest.fail.Exception, match="secret xoxb... leaked"):
        logs.assert_no_secret(secret)
    with pytest.raises(pytest.fail.Exception, match="leaked"):
        logs.assert_no_secret("TOKEN-9", also=[f"failed: 401 for TOKEN-9"])
    with pytest.raises(ValueError, match="empty secret"):
        logs.assert_no_secret("")


def test_the_garbling_receiver_makes_the_client_quote_what_it_sent(ca: Any, ca_bundle: str) -> None:
    import http.client

    from falco_response_testing import garbling_receiver

    with garbling_receiver(ca) as port:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=5,
                                           context=ssl.create_default_context(cafile=ca_bundle))
        conn.request("POST", "/hook", body=b"payload", headers={"Authorization": "Bearer s3cr3t"})
        with pytest.raises(http.client.HTTPException, match="s3cr3t"):
            conn.getresponse()
        conn.close()


def test_everything_holds_results_and_logs(logs: Logs) -> None:
    from falco_response_testing import everything

    [result] = engine_with("test-delete", {}).handle(alert())
    structlog.get_logger().warning("said", token="tok-1")
    text = everything([result], logs)
    assert '"reason": "deleted"' in text and "tok-1" in text and "Result(" in text
