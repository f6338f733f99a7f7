"""`falco-response serve` as a real process: the auth guard, SIGKILL and restart under load,
SIGTERM drain, and a bounded load run over keep-alive connections."""

from __future__ import annotations

import http.client
import signal
import sqlite3
import threading
from pathlib import Path

from server_helpers import TOKEN, Client, alert, config, recorded, wait_for, write_yaml


def test_refuses_destructive_actions_without_auth(tmp_path: Path, spawn) -> None:  # type: ignore[no-untyped-def]
    cfg = write_yaml(tmp_path / "c.yaml", config(tmp_path / "rec", action_type="record-destructive"))
    proc = spawn(cfg, "--queue", str(tmp_path / "q.db"))
    assert proc.finish() == 3
    text = proc.log.read_text()
    assert "destructive actions are configured (record-all/rec)" in text
    assert "--insecure-no-auth" in text


def test_insecure_no_auth_starts_and_says_so_loudly(tmp_path: Path, spawn) -> None:  # type: ignore[no-untyped-def]
    record = tmp_path / "rec"
    cfg = write_yaml(tmp_path / "c.yaml", config(record, action_type="record-destructive"))
    proc = spawn(cfg, "--queue", str(tmp_path / "q.db"), "--insecure-no-auth")
    proc.wait_ready()
    assert Client(proc.port).post(alert("open"))[0] == 202
    wait_for(lambda: recorded(record) == ["open"])
    assert proc.log.read_text().count("INSECURE: serving without authentication") == 3


def test_tokens_from_the_environment_satisfy_the_guard(tmp_path: Path, spawn) -> None:  # type: ignore[no-untyped-def]
    record = tmp_path / "rec"
    cfg = write_yaml(tmp_path / "c.yaml", config(record, action_type="record-destructive"))
    proc = spawn(cfg, "--queue", str(tmp_path / "q.db"), "--token-env", "MY_TOKENS",
                 env={"MY_TOKENS": TOKEN})
    proc.wait_ready()
    assert Client(proc.port).post(alert("anon"))[0] == 401
    assert Client(proc.port, token=TOKEN).post(alert("ok"))[0] == 202
    wait_for(lambda: recorded(record) == ["ok"])
    assert TOKEN not in proc.log.read_text()


def load(port: int, prefix: str, count: int, accepted: list[str], *,
         stop: threading.Event | None = None) -> None:
    """Post ``count`` alerts on one keep-alive connection; note the ones answered 2xx."""
    client = Client(port, token=TOKEN)
    try:
        for i in range(count):
            if stop is not None and stop.is_set():
                return
            uuid = f"{prefix}-{i}"
            status, _, _ = client.post(alert(uuid))
            if 200 <= status < 300:
                accepted.append(uuid)
    except (OSError, http.client.HTTPException):
        return  # the server was killed mid-run: what was not fully answered does not count
    finally:
        client.close()


def test_sigkill_under_load_then_restart_loses_no_accepted_alert(tmp_path: Path, spawn) -> None:  # type: ignore[no-untyped-def]
    record = tmp_path / "rec"
    cfg = write_yaml(tmp_path / "c.yaml", config(record, delay_ms=3))
    queue = str(tmp_path / "q.db")
    env = {"FALCO_RESPONSE_TOKENS": TOKEN}
    first = spawn(cfg, "--queue", queue, "--workers", "2", env=env)
    first.wait_ready()
    accepted: list[str] = []
    threads = [threading.Thread(target=load, args=(first.port, f"t{n}", 5000, accepted))
               for n in range(4)]
    for thread in threads:
        thread.start()
    wait_for(lambda: len(accepted) >= 1500, 60, "load to build up")
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(10)
    for thread in threads:
        thread.join(30)
    done_before = set(recorded(record))
    assert len(set(accepted) - done_before) > 0, "the kill should leave accepted work behind"

    second = spawn(cfg, "--queue", queue, "--workers", "2", env=env)
    second.wait_ready()
    wait_for(lambda: set(accepted) <= set(recorded(record)), 120,
             "every accepted alert's outcome after the restart")
    assert "resuming alerts accepted before the last stop" in second.log.read_text()
    second.proc.send_signal(signal.SIGTERM)
    assert second.finish() == 0


def test_sigterm_drains_queued_work_before_exit(tmp_path: Path, spawn) -> None:  # type: ignore[no-untyped-def]
    record = tmp_path / "rec"
    cfg = write_yaml(tmp_path / "c.yaml", config(record, delay_ms=25))
    queue = tmp_path / "q.db"
    proc = spawn(cfg, "--queue", str(queue), "--workers", "1",
                 env={"FALCO_RESPONSE_TOKENS": TOKEN})
    proc.wait_ready()
    client = Client(proc.port, token=TOKEN)
    uuids = [f"d-{i}" for i in range(40)]
    for uuid in uuids:
        assert client.post(alert(uuid))[0] == 202
    client.close()
    assert len(recorded(record)) < 40  # one worker at 25 ms each: most still queued
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.finish() == 0
    assert sorted(recorded(record)) == sorted(uuids)
    rows = sqlite3.connect(queue).execute("SELECT count(*) FROM items").fetchone()[0]
    assert rows == 0


def test_load_run_20000_alerts_over_keep_alive_none_lost(tmp_path: Path, spawn) -> None:  # type: ignore[no-untyped-def]
    record = tmp_path / "rec"
    cfg = write_yaml(tmp_path / "c.yaml", config(record))
    proc = spawn(cfg, "--queue", str(tmp_path / "q.db"), "--workers", "4",
                 env={"FALCO_RESPONSE_TOKENS": TOKEN})
    proc.wait_ready()
    accepted: list[str] = []
    threads = [threading.Thread(target=load, args=(proc.port, f"L{n}", 5000, accepted))
               for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert len(accepted) == 20_000
    wait_for(lambda: len(recorded(record)) >= 20_000, 120, "all 20,000 outcomes")
    assert sorted(set(recorded(record))) == sorted(accepted)
    metrics = Client(proc.port, token=TOKEN).get("/metrics")[2]
    assert 'falco_response_alerts_received_total{source="syscall"} 20000.0' in metrics
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.finish() == 0


def test_two_listeners_and_the_health_port_in_one_process(tmp_path: Path, spawn) -> None:  # type: ignore[no-untyped-def]
    """The deployment's shape: mutual TLS for Falco on --port, bearer tokens for falcosidekick
    on --token-port, probes and metrics on plain --health-port; SIGTERM stops all three."""
    import ssl

    import trustme

    from server_helpers import free_port

    ca = trustme.CA()
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(
        str(tmp_path / "server.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    falco_ctx = ssl.create_default_context()
    ca.configure_trust(falco_ctx)
    ca.issue_cert("falco").configure_cert(falco_ctx)
    sidekick_ctx = ssl.create_default_context()
    ca.configure_trust(sidekick_ctx)

    record = tmp_path / "rec"
    cfg = write_yaml(tmp_path / "c.yaml", config(record, action_type="record-destructive"))
    token_port, health_port = free_port(), free_port()
    proc = spawn(cfg, "--queue", str(tmp_path / "q.db"), "--tls-cert", str(tmp_path / "server.pem"),
                 "--tls-key", str(tmp_path / "server.pem"), "--client-ca", str(tmp_path / "ca.pem"),
                 "--token-port", str(token_port), "--health-port", str(health_port),
                 env={"FALCO_RESPONSE_TOKENS": TOKEN})

    def health(path: str) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", health_port, timeout=2)
        try:
            conn.request("GET", path)
            return conn.getresponse().status
        except OSError:
            return 0
        finally:
            conn.close()

    wait_for(lambda: health("/readyz") == 200, 30, "the health port")
    assert Client(proc.port, context=falco_ctx).post(alert("falco"))[0] == 202
    assert Client(token_port, context=sidekick_ctx).post(alert("anon"))[0] == 401
    assert Client(token_port, context=sidekick_ctx, token=TOKEN).post(alert("sidekick"))[0] == 202
    wait_for(lambda: sorted(recorded(record)) == ["falco", "sidekick"])
    assert health("/healthz") == 200 and health("/metrics") == 200
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.finish() == 0
