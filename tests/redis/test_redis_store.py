"""The redis:// store against a real redis-server: the StateStore contract, server-side
expiry, a client clock that is wrong, retention, history over a day, secrets kept out."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from falco_response.audit import AuditRecord
from falco_response.state import StateStore, StoreError, open_store
from falco_response.state.redis import RedisStore, redact
from falco_response.state.urls import check_store_url
from redis_server import PASSWORD, RedisServer, free_port


def record(time_ns: int, target: str = "pod:payments/api") -> AuditRecord:
    return AuditRecord(time_ns=time_ns, alert_time_ns=time_ns, uuid="u", rule="r",
                       priority="Critical", hostname="node-1", response="resp", action="kill",
                       type="delete-pod", target=target, status="ok", reason=None,
                       dry_run=False)


def eventually(check, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_open_store_opens_redis_and_the_url_passes_check(redis_url: str) -> None:
    assert check_store_url(redis_url) is None
    store = open_store(redis_url)
    try:
        assert isinstance(store, RedisStore) and isinstance(store, StateStore)
        assert store.url.startswith("redis://127.0.0.1:")
    finally:
        store.close()


def test_claims_counters_and_release(redis_url: str) -> None:
    store = RedisStore(redis_url)
    assert store.claim("cooldown:a", 60)
    assert not store.claim("cooldown:a", 60)
    assert store.claim("cooldown:b", 60)
    store.release("cooldown:a")
    store.release("cooldown:a")  # idempotent
    assert store.claim("cooldown:a", 60)
    assert [store.incr("n", 60) for _ in range(3)] == [1, 2, 3]
    assert store.take("n") == 3
    assert store.take("n") == 0
    assert store.take("never") == 0
    store.close()


def test_held_reads_a_claim_without_taking_it(redis_url: str) -> None:
    store = RedisStore(redis_url)
    try:
        assert not store.held("cooldown:held")
        assert not store.held("cooldown:held")  # reading took nothing
        assert store.claim("cooldown:held", 0.3)
        assert store.held("cooldown:held")
        assert eventually(lambda: not store.held("cooldown:held"))
    finally:
        store.close()


def test_a_dry_run_on_redis_reads_the_live_cooldown_and_writes_nothing(redis_url: str) -> None:
    from falco_response import Engine

    config = {"version": 1, "settings": {"store": redis_url},
              "actions": {"note": {"type": "log", "cooldown": "10m"}},
              "responses": [{"name": "r", "actions": ["note"]}]}
    alert = {"rule": "Shell", "priority": "Warning", "time": "2026-12-01T00:00:00Z",
             "output": "x", "output_fields": {"k8s.ns.name": "a", "k8s.pod.name": "b"}}
    store = RedisStore(redis_url)
    dry = Engine.from_config(config, dry_run=True)
    try:
        assert dry.handle(alert)[0].outcomes[0].status.value == "dry_run"
        # No claim or counter: only the trail, whose records say they were a dry run.
        mine = store._client.keys(store.prefix + "*")
        assert [k for k in mine if b":audit:" not in k] == []
        assert [r.dry_run for r in store.history(0)] == [True]
        live = Engine.from_config(config)
        assert live.handle(alert)[0].outcomes[0].status.value == "ok"
        live.close()
        outcome = dry.handle(alert)[0].outcomes[0]
        assert outcome.status.value == "skipped" and "cooldown" in (outcome.reason or "")
    finally:
        dry.close()
        store.close()


def test_expiry_is_honoured_by_the_server(redis_url: str) -> None:
    store = RedisStore(redis_url)
    assert store.claim("k", 0.3)
    assert not store.claim("k", 0.3)
    assert eventually(lambda: store.claim("k", 60))
    assert not store.claim("k", 60)
    store.incr("c", 0.3)
    assert eventually(lambda: store.take("c") == 0)
    store.close()


def test_a_client_clock_a_day_ahead_cannot_take_a_live_claim(
        redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    honest = RedisStore(redis_url)
    assert honest.claim("limit:destructive:0", 600)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 86400)
    monkeypatch.setattr(time, "time_ns", lambda: int((real() + 86400) * 1e9))
    skewed = RedisStore(redis_url)
    assert not skewed.claim("limit:destructive:0", 600)
    assert skewed.incr("n", 600) == 1 and honest.take("n") == 1
    honest.close()
    skewed.close()


def test_history_over_a_day_of_records_is_one_range_query(redis_url: str) -> None:
    store = RedisStore(redis_url)
    now = time.time_ns()
    day = [record(now - 86_400_000_000_000 + i * 17_280_000_000, f"pod:ns/p{i}")
           for i in range(5000)]  # one record every 17.28 s over 24 h
    for start in range(0, len(day), 500):
        store.record(day[start:start + 500], 2 * 86400)
    assert len(store.history(0)) == 5000
    hour = store.history(now - 3_600_000_000_000)
    assert [r.target for r in hour] == [r.target for r in day if r.time_ns >= now - 3.6e12]
    assert len(hour) in (208, 209)
    exact = store.history(day[4000].time_ns)
    assert exact[0] == day[4000] and len(exact) == 1000
    store.close()


def test_retention_trims_by_the_server_clock(redis_url: str) -> None:
    store = RedisStore(redis_url)
    store.record([record(time.time_ns())], 0.5)
    time.sleep(0.7)
    store.record([record(time.time_ns(), "pod:ns/new")], 0.5)
    assert [r.target for r in store.history(0)] == ["pod:ns/new"]
    assert eventually(lambda: store.history(0) == [])  # the idle trail expires whole
    store.close()


def test_a_server_that_refuses_connections_is_a_store_error_quickly() -> None:
    store = RedisStore(f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0?timeout=1")
    started = time.monotonic()
    with pytest.raises(StoreError) as info:
        store.claim("k", 60)
    assert time.monotonic() - started < 15
    assert "claim failed on redis://127.0.0.1:" in str(info.value)
    assert PASSWORD not in str(info.value) and PASSWORD not in store.url
    for call in (lambda: store.incr("c", 1), lambda: store.take("c"),
                 lambda: store.release("k"), lambda: store.history(0),
                 lambda: store.record([record(1)], 60)):
        with pytest.raises(StoreError):
            call()
    store.close()


def test_a_restarted_server_is_reconnected_to(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = RedisServer(tmp_path)
    server.start()
    try:
        store = RedisStore(server.url + "?timeout=1")
        assert store.claim("a", 60)
        server.stop()
        with pytest.raises(StoreError):
            store.claim("b", 60)
        server.start()  # same port, empty (no persistence): the scripts are loaded again
        assert store.claim("b", 60) and not store.claim("b", 60)
        assert store.incr("n", 60) == 1
        store.close()
    finally:
        server.stop()


def test_password_from_the_environment_and_never_shown(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    server = RedisServer(tmp_path, password=PASSWORD)
    server.start()
    try:
        monkeypatch.delenv("FALCO_RESPONSE_REDIS_PASSWORD", raising=False)
        with pytest.raises(StoreError) as info:
            RedisStore(server.url).claim("k", 60)
        assert "Authentication" in str(info.value) or "NOAUTH" in str(info.value)
        monkeypatch.setenv("FALCO_RESPONSE_REDIS_PASSWORD", PASSWORD)
        store = RedisStore(server.url)
        assert store.claim("k", 60)
        assert PASSWORD not in store.url and PASSWORD not in repr(vars(store).get("url"))
        store.close()
        monkeypatch.setenv("FALCO_RESPONSE_REDIS_PASSWORD", "wrong-password-123")
        with pytest.raises(StoreError) as info:
            RedisStore(server.url).claim("k", 60)
        assert "wrong-password-123" not in str(info.value)
        in_url = RedisStore(f"redis://:{PASSWORD}@127.0.0.1:{server.port}/0")
        assert in_url.url == f"redis://127.0.0.1:{server.port}/0"
        assert not in_url.claim("k", 60)
        in_url.close()
    finally:
        server.stop()


def test_redact() -> None:
    assert redact("rediss://user:pw@h:6380/1?prefix=x") == "rediss://h:6380/1"


def test_the_redis_client_is_not_imported_unless_the_store_is_configured() -> None:
    code = (
        "import sys\n"
        "from falco_response import Engine\n"
        "e = Engine.from_config({'version': 1, 'settings': {'store': 'sqlite:///%s'},\n"
        "    'responses': [{'name': 'r', 'actions': [{'type': 'log'}]}]}, entry_points=False)\n"
        "e.handle({'rule': 'x', 'priority': 'Warning', 'output': 'o', 'time': "
        "'2026-01-01T00:00:00Z', 'output_fields': {}})\n"
        "print('redis' in sys.modules)\n"
    )
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", code % (tmp + "/s.db")], check=True,
                             capture_output=True, text=True, timeout=60).stdout
    assert out.strip().splitlines()[-1] == "False"
    with_redis = subprocess.run(
        [sys.executable, "-c", "import sys; from falco_response.state import open_store; "
         "open_store('redis://127.0.0.1:1/0'); print('redis' in sys.modules)"],
        check=True, capture_output=True, text=True, timeout=60).stdout
    assert with_redis.strip().splitlines()[-1] == "True"


def test_rediss_with_a_ca_from_the_environment(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    files = [str(tmp_path / n) for n in ("server.pem", "server.key", "ca.pem")]
    cert.cert_chain_pems[0].write_to_path(files[0])
    cert.private_key_pem.write_to_path(files[1])
    ca.cert_pem.write_to_path(files[2])
    server = RedisServer(tmp_path, tls=(files[0], files[1], files[2]))
    server.start()
    url = f"rediss://127.0.0.1:{server.port}/0?timeout=2"
    try:
        with pytest.raises(StoreError):  # the system's CAs do not trust ours
            RedisStore(url).claim("k", 60)
        monkeypatch.setenv("FALCO_RESPONSE_REDIS_CA_FILE", files[2])
        store = RedisStore(url)
        assert store.claim("k", 60) and not store.claim("k", 60)
        store.close()
    finally:
        server.stop()


def test_audit_reads_the_trail_and_reports_a_down_store_without_a_traceback(
        redis_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from falco_response.cli import main

    store = RedisStore(redis_url)
    store.record([record(time.time_ns(), "pod:payments/api-1")], 3600)
    store.close()
    assert main(["audit", "--store", redis_url, "--since", "1h", "--json"]) == 0
    assert '"target":"pod:payments/api-1"' in capsys.readouterr().out
    down = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0?timeout=1"
    assert main(["audit", "--store", down, "--since", "1h"]) == 1
    err = capsys.readouterr().err
    assert "audit query failed on redis://127.0.0.1:" in err and PASSWORD not in err
    assert "Traceback" not in err


def test_history_pages_across_many_records_of_one_microsecond(redis_url: str) -> None:
    store = RedisStore(redis_url)
    now = time.time_ns()
    store.record([record(now - 5000, "pod:ns/before")], 3600)
    store.record([record(now, f"pod:ns/same{i}") for i in range(1500)], 3600)
    store.record([record(now + 5000, "pod:ns/after")], 3600)
    got = [r.target for r in store.history(0)]
    assert len(got) == len(set(got)) == 1502
    assert got[0] == "pod:ns/before" and got[-1] == "pod:ns/after"
    store.close()
