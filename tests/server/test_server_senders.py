"""`falco-response serve` (a real process) fed requests shaped as Falco's ``http_output`` and
falcosidekick's webhook and Talon outputs send them, headers included (issue 13)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from server_helpers import TOKEN, Client, config, recorded, wait_for, write_yaml

DATA = Path(__file__).resolve().parents[1] / "data" / "senders"

SIDEKICK = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Falcosidekick"}
FALCO = {"Content-Type": "application/json", "User-Agent": "falcosecurity/falco",
         "TE": "gzip", "Connection": "TE"}


def body(name: str) -> bytes:
    return json.dumps(json.loads((DATA / name).read_text())).encode()


def falco_post(port: int, path: str, payload: bytes, token: str) -> tuple[bytes, bytes]:
    """A POST the way libcurl sends Falco's: ``Expect: 100-continue``, then the body only once
    the server said ``100 Continue``. Returns (the interim answer, the final answer)."""
    head = (f"POST {path} HTTP/1.1\r\nHost: falco-response:{port}\r\n"
            f"User-Agent: falcosecurity/falco\r\nAccept: */*\r\nTE: gzip\r\n"
            f"Connection: TE\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            f"Expect: 100-continue\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        interim = sock.recv(4096)
        sock.sendall(payload)
        final = b""
        while b"\r\n\r\n" not in final or not final.rstrip().endswith(b"}"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            final += chunk
    return interim, final


def started(tmp_path: Path, spawn: Any, *extra: str) -> Any:
    record = tmp_path / "rec"
    cfg = write_yaml(tmp_path / "c.yaml", config(record))
    proc = spawn(cfg, "--queue", str(tmp_path / "q.db"), *extra,
                 env={"FALCO_RESPONSE_TOKENS": TOKEN})
    proc.wait_ready()
    return proc, record


def test_falco_http_output_on_its_url_path(tmp_path: Path, spawn: Any) -> None:
    proc, record = started(tmp_path, spawn, "--intake-path", "/falco")
    payload = body("falco-http-output.json")
    interim, final = falco_post(proc.port, "/falco", payload, TOKEN)
    assert interim.startswith(b"HTTP/1.1 100 Continue")
    assert final.startswith(b"HTTP/1.1 202"), final
    assert b'"queued"' in final
    assert falco_post(proc.port, "/", payload, TOKEN)[1].startswith(b"HTTP/1.1 202")
    client = Client(proc.port, token=TOKEN)
    assert client.post(payload, "/falco/", **FALCO)[0] == 202
    # Falco's rule name is what the recorder writes for an alert without uuid
    wait_for(lambda: recorded(record) == ["Terminal shell in container"] * 3)

    status, headers, answer = client.post(payload, "/falcon", **FALCO)
    assert status == 404 and headers["content-type"] == "application/json"
    assert answer["intake_paths"] == ["/", "/falco"]
    assert "/ and /falco" in answer["error"]
    assert client.get("/nowhere")[0] == 404

    text = (DATA / "falco-text-output.txt").read_bytes()
    status, _, answer = client.post(text, "/falco", **{**FALCO, "Content-Type": "text/plain"})
    assert status == 415
    assert answer["error"].startswith("Falco is sending text: set json_output: true")
    assert len(recorded(record)) == 3


def test_falcosidekick_webhook_post_and_put(tmp_path: Path, spawn: Any) -> None:
    proc, record = started(tmp_path, spawn)
    client = Client(proc.port, token=TOKEN)
    alert = json.loads(body("falcosidekick-webhook.json"))
    assert client.request("POST", "/", json.dumps(alert).encode(), SIDEKICK)[0] == 202
    alert["uuid"] = "put-" + alert["uuid"][4:]
    status, _, answer = client.request("PUT", "/", json.dumps(alert).encode(), SIDEKICK)
    assert status == 202 and "queued" in answer
    capitalised = body("talon-capitalised-keys.json")
    assert client.request("POST", "/", capitalised, SIDEKICK)[0] == 202
    wait_for(lambda: sorted(recorded(record)) == sorted(
        ["5f3c0a5e-6d0b-4c43-9a3c-1c2b8e7a9d10", alert["uuid"], "Terminal shell in container"]))
    twice = json.loads(capitalised)
    twice["rule"] = "Another rule"
    status, _, answer = client.request("POST", "/", json.dumps(twice).encode(), SIDEKICK)
    assert status == 400 and "'Rule' and 'rule'" in answer["error"]


def test_falcosidekick_without_credentials_is_told_about_talon(tmp_path: Path,
                                                               spawn: Any) -> None:
    proc, record = started(tmp_path, spawn)
    anonymous = Client(proc.port)
    status, headers, answer = anonymous.request("POST", "/", body("falcosidekick-webhook.json"),
                                                SIDEKICK)
    assert status == 401 and headers["www-authenticate"] == "Bearer"
    for words in ("Talon output", "webhook output", "webhook.customheaders",
                  "webhook.mutualtls"):
        assert words in answer["error"]
    # anyone else gets the plain answer; a wrong token is refused as before
    status, _, answer = anonymous.request("POST", "/", body("falco-http-output.json"), FALCO)
    assert (status, answer["error"]) == (401, "missing bearer token")
    status, _, answer = anonymous.request("POST", "/", body("falcosidekick-webhook.json"),
                                          {**SIDEKICK, "Authorization": "Bearer wrong-token-1234567"})
    assert status == 403 and "Talon" not in answer["error"]
    assert recorded(record) == []


def test_bad_intake_paths_are_usage_errors(tmp_path: Path, spawn: Any) -> None:
    cfg = write_yaml(tmp_path / "c.yaml", config(tmp_path / "rec"))
    for path, problem in (("falco", "a path starting with /"), ("/metrics", "server's own")):
        proc = spawn(cfg, "--queue", str(tmp_path / "q.db"), "--intake-path", path)
        assert proc.finish() == 2
        assert problem in proc.log.read_text()
