"""Header size and count limits (431), the header-read deadline (slow loris, 408) and the
connection limit per listener (503), each over a real socket against the real `serve`
process; a 61 MB header is cut off early without the server's memory growing."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from server_helpers import TOKEN, Client, alert, config, recorded, wait_for, write_yaml


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def status_of(sock: socket.socket) -> tuple[int, bytes]:
    """The status of the answer on ``sock`` and what else the server sent before closing."""
    data = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    assert data.startswith(b"HTTP/1.1 "), data[:100]
    return int(data.split()[1]), data


@pytest.fixture
def server(tmp_path: Path, spawn):  # type: ignore[no-untyped-def]
    def start(*extra: str):  # type: ignore[no-untyped-def]
        record = tmp_path / "rec"
        proc = spawn(write_yaml(tmp_path / "c.yaml", config(record)), "--queue",
                     str(tmp_path / "q.db"), *extra, env={"FALCO_RESPONSE_TOKENS": TOKEN})
        proc.wait_ready()
        proc.record = record
        return proc
    return start


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=30)


def test_headers_over_the_size_limit_are_431(server) -> None:  # type: ignore[no-untyped-def]
    proc = server("--header-limit", "8192")
    with connect(proc.port) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
        status, data = status_of(sock)
    assert status == 431 and b"over the 8192-byte limit" in data
    # a body larger than the header limit is not counted as headers
    body = alert("big-body", padding="p" * 20_000)
    assert Client(proc.port, token=TOKEN).post(body)[0] == 202
    wait_for(lambda: recorded(proc.record) == ["big-body"], 30, "the alert")


def test_a_61_mb_header_is_never_buffered(server) -> None:  # type: ignore[no-untyped-def]
    proc = server()
    before = rss_kib(proc.proc.pid)
    sent = 0
    chunk = b"a" * 65536
    with connect(proc.port) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ")
        try:
            while sent < 61 * 1024 * 1024:
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
    assert sent < 8 * 1024 * 1024, f"the server read {sent} bytes of one header"
    assert rss_kib(proc.proc.pid) - before < 16 * 1024
    assert Client(proc.port, token=TOKEN).get("/healthz")[0] == 200


def test_5000_headers_are_431(server) -> None:  # type: ignore[no-untyped-def]
    proc = server()
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(5000))
    with connect(proc.port) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n" + headers[:60_000] + b"\r\n")
        status, data = status_of(sock)
    assert status == 431 and b"more than 100 request headers" in data
    text = Client(proc.port, token=TOKEN).get("/metrics")[2]
    assert 'falco_response_alerts_rejected_total{reason="header_limit"} 1.0' in text


def test_a_slow_loris_is_dropped_at_the_header_deadline(server) -> None:  # type: ignore[no-untyped-def]
    proc = server("--header-timeout", "1")
    with connect(proc.port) as idle, connect(proc.port) as slow:
        slow.sendall(b"POST / HTTP/1.1\r\n")
        closed = False
        for i in range(300):  # a header byte every 0.1 s: each resets no deadline
            try:
                slow.sendall(b"X")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            slow.settimeout(0.1)
            try:
                if slow.recv(65536).startswith(b"HTTP/1.1 408"):
                    closed = True
                    break
            except TimeoutError:
                pass
        assert closed, "the slow connection was never dropped"
        idle.settimeout(30)
        assert status_of(idle)[0] == 408  # a connection that never sends is dropped too
    # a prompt request is served as before
    assert Client(proc.port, token=TOKEN).post(alert("prompt"))[0] == 202


def read_response(sock: socket.socket) -> int:
    """One keep-alive response's status, reading exactly its head and body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(rest) < length:
        rest += sock.recv(65536)
    return int(head.split()[1])


def test_the_header_deadline_is_per_head_on_a_busy_keep_alive_connection(server) -> None:  # type: ignore[no-untyped-def]
    """The deadline timer is set once per connection and set again for what the current head
    has left when it fires: requests arriving for longer than the deadline are never cut
    off, and a head begun later still gets its full time, then 408."""
    proc = server("--header-timeout", "1")
    body = alert("keep-alive")
    request = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Authorization: Bearer " + TOKEN.encode() + b"\r\nContent-Length: "
               + str(len(body)).encode() + b"\r\n\r\n" + body)
    with connect(proc.port) as sock:
        ends = time.monotonic() + 2.6
        served = 0
        while time.monotonic() < ends:  # spans two firings of the connection's timer
            sock.sendall(request)
            assert read_response(sock) == 202
            served += 1
            time.sleep(0.05)
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")  # a head that never ends
        began = time.monotonic()
        status, data = status_of(sock)
        waited = time.monotonic() - began
    assert served > 20 and status == 408 and b"not received within 1s" in data
    assert 0.9 <= waited < 5.0, f"408 after {waited:.2f} s"


def test_connections_past_the_limit_are_refused_and_room_frees(server) -> None:  # type: ignore[no-untyped-def]
    proc = server("--max-connections", "3", "--header-timeout", "60")
    clients = [Client(proc.port, token=TOKEN) for _ in range(3)]
    for client in clients:
        assert client.get("/healthz")[0] == 200  # all three open and in use
    with connect(proc.port) as extra:
        status, data = status_of(extra)
    assert status == 503 and b"retry-after: 1" in data.lower()
    clients[0].close()

    def room() -> bool:
        with connect(proc.port) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return status_of(sock)[0] == 200
    wait_for(room, 30, "a connection slot to free")
    for client in clients[1:]:
        client.close()


def test_the_health_port_drops_a_client_that_sends_nothing() -> None:
    from prometheus_client import CollectorRegistry

    from falco_response.server.health import HealthServer

    health = HealthServer("127.0.0.1", 0, registry=CollectorRegistry(), live=lambda: True,
                          ready=lambda: "ready")
    health.start()
    try:
        with connect(health.port) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # and never the rest
            sock.settimeout(60)
            assert sock.recv(65536) == b""  # closed by the server, not by our timeout
        with connect(health.port) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.0 200 ")
    finally:
        health.stop()
