"""Intake answers 202 only for a payload that holds at least one alert; a parser's failure,
whatever it raises, is a counted 400 with a JSON error; a request with two Authorization
headers is refused. Against the real `serve` process."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from falco_response.parsing import MAX_NESTING
from server_helpers import TOKEN, Client, alert, config, recorded, wait_for, write_yaml


def raw(port: int, request: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + int(
                data.split(b"content-length: ")[1].split(b"\r\n")[0]):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def metric(port: int, name: str) -> float:
    text = Client(port, token=TOKEN).get("/metrics")[2]
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


@pytest.fixture
def server(tmp_path: Path, spawn, plugin_env):  # type: ignore[no-untyped-def]
    dist = tmp_path / "site" / "falco_response_raising-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: falco-response-raising\n"
                                   "Version: 0.1\n")
    (dist / "entry_points.txt").write_text("[falco_response]\nraising = raising_parser_plugin\n")
    record = tmp_path / "rec"
    proc = spawn(write_yaml(tmp_path / "c.yaml", config(record)), "--queue",
                 str(tmp_path / "q.db"), "--sns-topic-arn", "arn:aws:sns:eu-west-1:1:falco",
                 env={"FALCO_RESPONSE_TOKENS": TOKEN})
    proc.wait_ready()
    proc.record = record
    return proc


@pytest.mark.parametrize("body", [b'{"Records": []}', b'{"Records": [], "more": 1}  '])
def test_an_empty_batch_is_refused_at_intake(server, body: bytes) -> None:  # type: ignore[no-untyped-def]
    status, _, reply = Client(server.port, token=TOKEN).post(body)
    assert status == 400
    assert reply == {"error": "the payload holds no alert (an empty batch)"}
    assert metric(server.port, "falco_response_queue_depth") == 0


def test_a_parser_plugin_that_raises_is_a_400_and_counted(server) -> None:  # type: ignore[no-untyped-def]
    client = Client(server.port, token=TOKEN)
    before = metric(server.port, 'falco_response_alerts_rejected_total{reason="not_alert"}')
    for path in ("/", "/"):
        status, headers, reply = client.post(b'{"explode": 1, "rule": "x"}', path)
        assert status == 400 and headers["content-type"] == "application/json"
        assert reply == {"error": "a parser failed on the message: KeyError"}
    after = metric(server.port, 'falco_response_alerts_rejected_total{reason="not_alert"}')
    assert after == before + 2
    assert client.post(alert("still-fine"))[0] == 202  # the server keeps serving
    wait_for(lambda: recorded(server.record) == ["still-fine"], 30, "the good alert")
    assert "Traceback" not in server.log.read_text()


@pytest.mark.parametrize("first, second", [("Bearer wrong-token-0123456789", f"Bearer {TOKEN}"),
                                           (f"Bearer {TOKEN}", f"Bearer {TOKEN}"),
                                           (f"Bearer {TOKEN}", "Basic eDp5")])
def test_two_authorization_headers_are_refused(server, first: str, second: str) -> None:  # type: ignore[no-untyped-def]
    body = alert("two-auth")
    for path in ("/", "/metrics", "/sns"):
        method = b"GET" if path == "/metrics" else b"POST"
        request = (method + b" " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                   b"Authorization: " + first.encode() + b"\r\n"
                   b"Authorization: " + second.encode() + b"\r\n"
                   b"Content-Type: application/json\r\n"
                   b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        status, reply = raw(server.port, request)
        assert status == 400, path
        assert json.loads(reply) == {"error": "more than one Authorization header"}
    assert recorded(server.record) == []
    assert metric(server.port,
                  'falco_response_alerts_rejected_total{reason="duplicate_header"}') == 3


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" +
                                  b"}" * 100_000,
                                  alert("deep")[:-1] + b', "x": ' + b"[" * 100_000 + b"]" * 100_000
                                  + b"}"])
def test_json_nested_100k_deep_is_a_400_and_the_server_keeps_serving(server, body: bytes) -> None:  # type: ignore[no-untyped-def]
    client = Client(server.port, token=TOKEN)
    for path in ("/", "/sns"):
        status, _, reply = client.post(body, path)
        assert status == 400, path
        assert reply == {"error": f"message is nested deeper than {MAX_NESTING} levels"}
    assert client.post(alert("after-deep"))[0] == 202
    wait_for(lambda: recorded(server.record) == ["after-deep"], 30, "the next alert")
    assert "Traceback" not in server.log.read_text()
