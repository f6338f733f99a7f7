"""A TLS server that garbles its answers on purpose, for redaction tests: it sends each
request back (request line, headers, body) as its status line, so the client's HTTP stack
raises with every secret it sent quoted in the exception."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import trustme


@contextmanager
def garbling_receiver(ca: trustme.CA) -> Iterator[int]:
    """A TLS server that answers each request with the request itself (line, headers, body)
    as its status line: the client's HTTP stack raises, quoting every secret it sent."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def answer(raw: socket.socket) -> None:
        with context.wrap_socket(raw, server_side=True) as conn:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            while len(body) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                body += chunk
            conn.sendall((head + b" " + body).replace(b"\r\n", b" ")[:60000] + b"\r\n\r\n")

    def serve() -> None:
        for _ in range(3000):                       # at most ~5 minutes of 0.1 s waits
            if stop.is_set():
                return
            try:
                raw, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                answer(raw)
            except (OSError, ssl.SSLError, ValueError):
                continue

    thread = threading.Thread(target=serve, name="garbling-receiver", daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()
