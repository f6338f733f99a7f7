"""A plain-HTTP side port for probes and Prometheus: ``/healthz``, ``/readyz``, ``/metrics``.

With mutual TLS on the alert port, the kubelet and Prometheus (which present no client
certificate) could not reach the probes there; this port serves only these three read-only
paths, no alerts, and is meant to be reachable from the kubelet and the monitoring namespace.
Used by ``serve`` and ``consume`` alike.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


class HealthServer:
    """Serves the three paths on ``host:port`` from a daemon thread."""

    def __init__(self, host: str, port: int, *, registry: CollectorRegistry,
                 live: Callable[[], bool], ready: Callable[[], str]) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10  # seconds for a request to arrive: a slow client loses its thread
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path == "/healthz":
                    ok = live()
                    owner._send(self, 200 if ok else 503, b"ok\n" if ok else b"stopped\n")
                elif self.path == "/readyz":
                    status = ready()
                    owner._send(self, 200 if status == "ready" else 503,
                                status.encode() + b"\n")
                elif self.path == "/metrics":
                    owner._send(self, 200, generate_latest(registry), CONTENT_TYPE_LATEST)
                else:
                    owner._send(self, 404, b"not found\n")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="health",
                                        daemon=True)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes,
              content_type: str = "text/plain; charset=utf-8") -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
