"""A real ``redis-server`` on 127.0.0.1 for one test module: started on a free port with no
persistence, stopped (and restartable on the same port) by the test."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

PASSWORD = "redis-test-password-7f3a9c"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    def __init__(self, workdir: Path, *, password: str | None = None,
                 tls: tuple[str, str, str] | None = None, persist: bool = False) -> None:
        """``tls``: (certificate, key, CA) files; the server then speaks TLS only."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: apt-get install -y redis-server "
                               "(.ci/run does this in CI)")
        self.binary = binary
        self.workdir = workdir
        self.password = password
        self.tls = tls
        self.persist = persist  # an append-only file synced on every write, kept on restart
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--dir", str(self.workdir), "--protected-mode", "no"]
        args += (["--appendonly", "yes", "--appendfsync", "always"] if self.persist
                 else ["--appendonly", "no"])
        if self.password:
            args += ["--requirepass", self.password]
        if self.tls:
            cert, key, ca = self.tls
            args[1:3] = ["--port", "0", "--tls-port", str(self.port)]
            args += ["--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", ca,
                     "--tls-auth-clients", "no"]
        self.log = (self.workdir / "redis.log").open("ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    if self.tls:
                        return  # listening; the TLS handshake is the client's test
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None
        if hasattr(self, "log"):
            self.log.close()

    def restart(self) -> None:
        self.stop()
        self.start()
