"""POST / through a real uvicorn on a loopback port: alerts in, refusals with reasons, tokens,
metrics, backpressure."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest

import recorder_plugin
from falco_response.errors import ParseError
from falco_response.parsing import alert_from_dict, decode
from server_helpers import TOKEN, alert, recorded, wait_for

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def test_an_alert_is_queued_then_its_actions_run(serve) -> None:  # type: ignore[no-untyped-def]
    running = serve()
    client = running.client()
    status, _, body = client.post(alert("a-1"))
    assert status == 202 and isinstance(body["queued"], int)
    wait_for(lambda: recorded(running.record) == ["a-1"], what="the action to run")


def test_with_full_sync_commits_go_through_the_writer_thread(serve) -> None:  # type: ignore[no-untyped-def]
    running = serve(synchronous="FULL")
    client = running.client()
    for i in range(20):
        assert client.post(alert(f"full-{i}"))[0] == 202
    wait_for(lambda: len(recorded(running.record)) == 20)
    assert running.receiver.queue._loop is None  # never attached: fsync stays off the loop


def test_falcosidekick_webhook_json_is_accepted(serve) -> None:  # type: ignore[no-untyped-def]
    running = serve()
    sidekick = {"output": "This is a test from falcosidekick", "source": "debug",
                "priority": "Debug", "hostname": "falcosidekick", "rule": "Test rule",
                "time": "2026-11-26T20:00:00Z", "tags": ["test"], "uuid": "sk-1",
                "output_fields": {"proc.name": "falcosidekick"}}
    status, _, _ = running.client().post(json.dumps(sidekick).encode(),
                                         **{"Content-Type": "application/json; charset=utf-8"})
    assert status == 202
    wait_for(lambda: recorded(running.record) == ["sk-1"])


def test_the_sample_falco_alerts_are_accepted(serve) -> None:  # type: ignore[no-untyped-def]
    running = serve()
    client = running.client()
    for name in ("falco-syscall-terminal-shell.json", "falco-k8saudit-exec.json",
                 "falco-legacy-no-source.json", "falcosidekick-test.json"):
        status, _, body = client.post((SAMPLES / name).read_bytes())
        assert status == 202, (name, body)


def test_keep_alive_serves_many_alerts_on_one_connection(serve) -> None:  # type: ignore[no-untyped-def]
    running = serve()
    client = running.client()
    for i in range(50):
        assert client.post(alert(f"k-{i}"))[0] == 202
    wait_for(lambda: len(recorded(running.record)) == 50)
    assert sorted(recorded(running.record)) == sorted(f"k-{i}" for i in range(50))


# -- tokens ---------------------------------------------------------------------------------

def test_bearer_token_matrix(serve) -> None:  # type: ignore[no-untyped-def]
    other = "another-token-being-rotated-in-42"
    running = serve(tokens=(TOKEN, other))
    status, headers, body = running.client().post(alert("none"))
    assert (status, body["error"]) == (401, "missing bearer token")
    assert headers["www-authenticate"] == "Bearer"
    status, _, body = running.client(token="wrong-token-wrong-token").post(alert("bad"))
    assert (status, body["error"]) == (403, "bearer token not accepted")
    status, _, body = running.client().post(alert("basic"), Authorization="Basic Zm9vOmJhcg==")
    assert status == 401
    assert running.client(token=TOKEN).post(alert("good"))[0] == 202
    assert running.client(token=other).post(alert("rotated"))[0] == 202
    wait_for(lambda: sorted(recorded(running.record)) == ["good", "rotated"])
    status, _, _ = running.client().get("/metrics")
    assert status == 401
    assert running.client().get("/healthz")[0] == 200


# -- bad requests ---------------------------------------------------------------------------

def core_error(payload: bytes) -> str:
    """The text the core's own parsing gives, which the server must repeat."""
    try:
        data = decode(payload)
        alert_from_dict(data)
    except ParseError as exc:
        return str(exc)
    raise AssertionError("payload parsed")


def test_bad_json_is_400_with_the_cores_reason(serve) -> None:  # type: ignore[no-untyped-def]
    running = serve()
    client = running.client()
    status, _, body = client.post(b'{"rule": "x", ')
    assert status == 400
    assert body["error"] == core_error(b'{"rule": "x", ') and "not JSON" in body["error"]
    status, _, body = client.post(b"")
    assert (status, body["error"]) == (400, "message is empty")
    status, _, body = client.post(b"\xff\xfe{}")
    assert status == 400 and "UTF-8" in body["error"]


def test_a_non_alert_is_400_with_the_cores_reason(serve) -> None:  # type: ignore[no-untyped-def]
    running = serve()
    client = running.client()
    status, _, body = client.post(b'{"hello": "world"}')
    assert status == 400
    assert body["error"] == "not a Falco alert: missing 'rule', 'priority', 'time'"
    bad_priority = alert("p", priority="Loud")
    status, _, body = client.post(bad_priority)
    assert status == 400 and body["error"] == core_error(bad_priority)
    status, _, body = client.post(b"[1, 2]")
    assert status == 400 and body["error"] == "message must be a JSON object, got array"
    # the connection survives refusals: the next alert is accepted on it
    assert client.post(alert("after"))[0] == 202
    wait_for(lambda: recorded(running.record) == ["after"])


def test_wrong_content_type_is_415(serve) -> None:  # type: ignore[no-untyped-def]
    running = serve()
    client = running.client()
    status, _, body = client.post(alert("t"), **{"Content-Type": "text/plain"})
    assert status == 415 and "application/json" in body["error"]
    status, _, _ = client.post(alert("f"), **{"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 415


def test_a_declared_large_body_is_413_before_it_is_read(serve) -> None:  # type: ignore[no-untyped-def]
    running = serve(body_limit=1000)
    status, headers, body = running.client().post(b"x" * 1001)
    assert status == 413 and body["error"] == "body is over the 1000-byte limit"
    assert headers["connection"] == "close"
    assert running.client().post(alert("small"))[0] == 202


def test_a_streamed_body_is_cut_off_at_the_limit(serve) -> None:  # type: ignore[no-untyped-def]
    """Chunked, no Content-Length, and the body never ends: the 413 comes anyway, so the
    limit is enforced while streaming, not after reading everything."""
    running = serve(body_limit=4096)
    with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"a" * 1024
        for _ in range(6):
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 413")
    assert b"4096-byte limit" in reply


def test_unknown_paths_and_methods(serve) -> None:  # type: ignore[no-untyped-def]
    running = serve()
    client = running.client()
    assert client.get("/")[0] == 405
    assert client.post(alert("x"), path="/nope")[0] == 404
    assert client.post(alert("x"), path="/sns")[0] == 404  # no SNS topic allowed


# -- probes and metrics ---------------------------------------------------------------------

def test_probes_and_metrics(serve) -> None:  # type: ignore[no-untyped-def]
    running = serve()
    client = running.client()
    assert client.get("/healthz")[:1] == (200,)
    assert client.get("/readyz")[2] == {"status": "ready"}
    for i in range(3):
        assert client.post(alert(f"m-{i}", source="k8s_audit"))[0] == 202
    client.post(b"{}")
    client.post(alert("evil", source="made-up-source"))
    client.post(alert("415"), **{"Content-Type": "text/html"})
    wait_for(lambda: len(recorded(running.record)) == 4)
    status, headers, text = client.get("/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    wait_for(lambda: 'falco_response_action_outcomes_total{action="rec",status="ok"} 4.0'
             in client.get("/metrics")[2], 10, "outcome metrics")
    text = client.get("/metrics")[2]
    assert 'falco_response_alerts_received_total{source="k8s_audit"} 3.0' in text
    assert 'falco_response_alerts_received_total{source="other"} 1.0' in text
    assert 'falco_response_alerts_rejected_total{reason="not_alert"} 1.0' in text
    assert 'falco_response_alerts_rejected_total{reason="content_type"} 1.0' in text
    assert 'falco_response_responses_matched_total{response="record-all"} 4.0' in text
    assert 'falco_response_action_duration_seconds_count{action="rec"} 4.0' in text
    assert "falco_response_queue_depth" in text
    labels = set(re.findall(r'(\w+)="', text))
    assert labels <= {"source", "reason", "response", "action", "status", "le"}
    assert "made-up-source" not in text and "api-m-0" not in text


# -- backpressure and slow actions ----------------------------------------------------------

def test_a_full_queue_answers_503_with_retry_after(serve) -> None:  # type: ignore[no-untyped-def]
    """Actions are stuck (a Slack 429, a slow API server); intake goes on until the bound,
    then refuses politely, and recovers once the actions move again."""
    recorder_plugin.GATE.clear()
    running = serve(queue_max=5, workers=1, wait_gate=True)
    client = running.client()
    statuses = [client.post(alert(f"b-{i}"))[0] for i in range(5)]
    assert statuses == [202] * 5  # accepted at once though no action has finished
    status, headers, body = client.post(alert("b-5"))
    assert status == 503 and headers["retry-after"] == "5"
    assert body["error"] == "the queue is full; retry later"
    assert client.get("/readyz") == (503, client.get("/readyz")[1], {"status": "queue full"})
    recorder_plugin.GATE.set()
    wait_for(lambda: len(recorded(running.record)) == 5)
    wait_for(lambda: client.post(alert("b-6"))[0] == 202, 10, "intake to reopen")
    assert 'reason="queue_full"} 1.0' in client.get("/metrics")[2]
