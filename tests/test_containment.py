"""The containment switch: pauses kept in every store, honoured by every engine sharing it
(within the switch's cache), failing closed when the store cannot be read, and the
`falco-response pause|resume` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from falco_response import containment
from falco_response.cli import main
from falco_response.containment import Pause, Switch
from falco_response.state import StoreError
from falco_response.state.memory import MemoryStore
from falco_response.state.sqlite import SQLiteStore

from .test_safety import ACTED, engine, pod_alert


@pytest.fixture(autouse=True)
def _clear() -> None:
    ACTED.clear()


def statuses(e: Any, payload: dict[str, Any] | None = None) -> list[tuple[str, str | None]]:
    (result,) = e.handle(payload or pod_alert())
    return [(o.status.value, o.reason) for o in result.outcomes]


@pytest.mark.parametrize("make", [lambda p: MemoryStore(), lambda p: SQLiteStore(p / "s.db")])
def test_a_store_keeps_pauses_until_lifted(make: Any, tmp_path: Path) -> None:
    store = make(tmp_path)
    assert store.pauses() == {}
    entry = containment.pause(store, "*", by="alice", reason="investigating INC-42")
    containment.pause(store, "delete-pod", by="bob", reason="flapping")
    assert store.pauses() == {"*": entry, "delete-pod": store.pauses()["delete-pod"]}
    containment.resume(store, "*")
    assert list(store.pauses()) == ["delete-pod"]
    containment.resume(store, "*")  # idempotent
    assert store.pauses()["delete-pod"].by == "bob"


def test_sqlite_pause_is_seen_by_another_process_store(tmp_path: Path) -> None:
    one, two = SQLiteStore(tmp_path / "s.db"), SQLiteStore(tmp_path / "s.db")
    containment.pause(one, "*", by="alice", reason="drill")
    assert two.pauses()["*"].reason == "drill"


def test_pause_needs_a_reason_and_a_name() -> None:
    with pytest.raises(ValueError, match="reason"):
        containment.pause(MemoryStore(), "*", by="alice", reason="  ")
    with pytest.raises(ValueError, match="name"):
        containment.pause(MemoryStore(), "*", by="", reason="x")


def test_paused_destructive_actions_are_skipped_and_notifications_go_out() -> None:
    store = MemoryStore()
    containment.pause(store, "*", by="alice", reason="false positives from the new rule")
    e = engine(store=store)
    (zap, tell) = statuses(e)
    assert zap[0] == "skipped"
    assert zap[1] is not None and zap[1].startswith("containment paused by alice at 20")
    assert zap[1].endswith(": false positives from the new rule")
    assert tell == ("ok", "told")
    assert not any(a[0] == "zap" for a in ACTED)
    assert "zap: skipped containment paused by alice" in ACTED[-1][1]
    (result,) = e.handle(pod_alert())
    assert result.outcomes[0].target == "pod:payments/api-1"


def test_a_pause_of_one_type_leaves_the_others_running() -> None:
    store = MemoryStore()
    containment.pause(store, "cordon", by="bob", reason="node maintenance")
    assert statuses(engine(store=store))[0] == ("ok", "zapped")
    containment.pause(store, "zap", by="bob", reason="zap misfires")
    (zap, _) = statuses(engine(store=store))
    assert zap[0] == "skipped" and zap[1] is not None
    assert zap[1].startswith("containment (zap) paused by bob")


def test_the_switch_is_read_again_after_its_cache_expires() -> None:
    store = MemoryStore()
    now = [0.0]
    switch = Switch(store, ttl=2.0, clock=lambda: now[0])
    assert switch.check("zap") == (None, None)
    containment.pause(store, "*", by="alice", reason="drill")
    assert switch.check("zap") == (None, None)  # cached for two seconds
    now[0] = 2.0
    pause, error = switch.check("zap")
    assert isinstance(pause, Pause) and pause.by == "alice" and error is None
    containment.resume(store, "*")
    now[0] = 4.0
    assert switch.check("zap") == (None, None)


def test_an_unreadable_switch_fails_destructive_actions_closed() -> None:
    class Broken(MemoryStore):
        def pauses(self) -> dict[str, Pause]:
            raise StoreError("table unreachable")

    (zap, tell) = statuses(engine(store=Broken()))
    assert zap[0] == "failed"
    assert zap[1] == ("state store unavailable, not acting without the containment switch "
                      "check: table unreachable")
    assert tell == ("ok", "told")
    assert not any(a[0] == "zap" for a in ACTED)


def test_two_engines_sharing_sqlite_both_honour_a_pause(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    SQLiteStore(tmp_path / "s.db").close()  # as an engine's start creates it
    first, second = engine({"store": url}), engine({"store": url})
    assert main(["pause", "--store", url, "--reason", "INC-7", "--as", "carol"]) == 0
    for e in (first, second):
        assert statuses(e)[0][0] == "skipped"
    assert main(["resume", "--store", url, "--as", "carol"]) == 0
    assert statuses(engine({"store": url}))[0] == ("ok", "zapped")


def test_pause_and_resume_commands(tmp_path: Path, capsys: Any) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    assert main(["pause", "--store", url, "--reason", "r", "--as", "x"]) == 3
    assert "no such store" in capsys.readouterr().err  # a typo must not pause nothing
    SQLiteStore(tmp_path / "s.db").close()
    assert main(["pause", "--store", url, "--type", "delete-pod", "--reason", "flaky",
                 "--as", "dave"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("containment (delete-pod) paused by dave at ")
    assert out.rstrip().endswith(": flaky")
    assert main(["resume", "--store", url, "--type", "delete-pod"]) == 0
    assert capsys.readouterr().out == "containment running: no pause in force\n"
    with pytest.raises(SystemExit):
        main(["pause", "--store", url])  # --reason is required
    assert main(["pause", "--store", url, "--reason", " ", "--as", "x"]) == 2
    assert "needs a reason" in capsys.readouterr().err


def test_a_failed_read_is_not_cached() -> None:
    """After the store comes back, the next destructive action reads the switch again."""
    broken = [True]

    class Flaky(MemoryStore):
        def pauses(self) -> dict[str, Pause]:
            if broken[0]:
                raise StoreError("connection reset")
            return super().pauses()

    now = [0.0]
    switch = Switch(Flaky(), clock=lambda: now[0])
    assert switch.check("zap") == (None, "connection reset")
    broken[0] = False
    assert switch.check("zap") == (None, None)
