"""Actions in a child process (`serve --actions-in process`, the default): where the actions
run, metrics counted across the two processes, the child killed and restarted with nothing
lost, the child going away with intake, and a child that cannot start or keeps dying."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from server_helpers import TOKEN, Client, alert, config, recorded, wait_for, write_yaml

from falco_response.server import DurableQueue, Metrics
from falco_response.server.runner import Reporter
from falco_response.server.action_process import ActionProcess, ActionProcessError


def children(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` and which are still running (not zombies)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry))
    return found


def running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_actions_run_in_the_child_and_are_counted_by_intake(tmp_path: Path, spawn) -> None:  # type: ignore[no-untyped-def]
    record, pids = tmp_path / "rec", tmp_path / "pids"
    cfg = write_yaml(tmp_path / "c.yaml", config(record, pid_path=str(pids)))
    proc = spawn(cfg, "--queue", str(tmp_path / "q.db"), env={"FALCO_RESPONSE_TOKENS": TOKEN})
    proc.wait_ready()
    [child] = children(proc.proc.pid)
    assert "falco_response.server.action_process" in cmdline(child)
    # The child is niced +10 relative to intake (capped at 19), whatever niceness the test
    # suite itself runs at.
    assert _nice(child) == min(_nice(proc.proc.pid) + 10, 19)
    assert TOKEN.encode() not in Path(f"/proc/{child}/environ").read_bytes()  # intake's only

    client = Client(proc.port, token=TOKEN)
    uuids = [f"p-{i}" for i in range(30)]
    for uuid in uuids:
        assert client.post(alert(uuid))[0] == 202
    wait_for(lambda: sorted(recorded(record)) == sorted(uuids), 30, "30 outcomes")
    assert set(recorded(pids)) == {str(child)}  # every action ran in the child, none in intake

    def counted() -> bool:
        text = client.get("/metrics")[2]
        return metric(text, 'falco_response_alerts_handled_total{source="syscall"}') == 30
    wait_for(counted, 10, "intake's /metrics to count what the child did")
    text = client.get("/metrics")[2]
    assert metric(text, 'falco_response_responses_matched_total{response="record-all"}') == 30
    assert metric(text, 'falco_response_action_outcomes_total{action="rec",status="ok"}') == 30
    assert metric(text, 'falco_response_action_duration_seconds_count{action="rec"}') == 30
    assert metric(text, "falco_response_queue_depth") == 0
    client.close()
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.finish() == 0
    assert not running(child)


def test_a_killed_child_is_restarted_and_its_alerts_are_worked_again(tmp_path: Path, spawn) -> None:  # type: ignore[no-untyped-def]
    record = tmp_path / "rec"
    cfg = write_yaml(tmp_path / "c.yaml", config(record, delay_ms=20))
    proc = spawn(cfg, "--queue", str(tmp_path / "q.db"), "--workers", "2",
                 env={"FALCO_RESPONSE_TOKENS": TOKEN})
    proc.wait_ready()
    [first] = children(proc.proc.pid)
    client = Client(proc.port, token=TOKEN)
    uuids = [f"k-{i}" for i in range(200)]
    for uuid in uuids:
        assert client.post(alert(uuid))[0] == 202
    wait_for(lambda: len(recorded(record)) >= 20, 30, "some outcomes")
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: set(uuids) <= set(recorded(record)), 60,
             "every accepted alert's outcome after the child's restart")
    assert len(recorded(record)) < 200 + 10  # at most the few in progress ran twice
    [second] = children(proc.proc.pid)
    assert second != first
    assert client.get("/healthz")[0] == 200
    assert client.post(alert("after"))[0] == 202
    wait_for(lambda: "after" in recorded(record), 30, "an alert after the restart")
    log = proc.log.read_text()
    assert "the action process exited; restarting it" in log
    assert '"code":-9' in log
    client.close()
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.finish() == 0


def test_the_child_does_not_outlive_a_killed_intake(tmp_path: Path, spawn) -> None:  # type: ignore[no-untyped-def]
    """Intake's queue still holds what the child had, so the child stops at once rather
    than act on alerts that the next start will work again."""
    record = tmp_path / "rec"
    cfg = write_yaml(tmp_path / "c.yaml", config(record, delay_ms=200))
    proc = spawn(cfg, "--queue", str(tmp_path / "q.db"), "--workers", "1",
                 env={"FALCO_RESPONSE_TOKENS": TOKEN})
    proc.wait_ready()
    [child] = children(proc.proc.pid)
    client = Client(proc.port, token=TOKEN)
    for i in range(20):
        assert client.post(alert(f"o-{i}"))[0] == 202
    client.close()
    proc.proc.send_signal(signal.SIGKILL)
    proc.proc.wait(10)
    wait_for(lambda: not running(child), 10, "the child to exit")
    assert len(recorded(record)) < 20
    assert "intake went away; exiting without finishing" in proc.log.read_text()


def test_threads_mode_runs_actions_in_intake(tmp_path: Path, spawn) -> None:  # type: ignore[no-untyped-def]
    record, pids = tmp_path / "rec", tmp_path / "pids"
    cfg = write_yaml(tmp_path / "c.yaml", config(record, pid_path=str(pids)))
    proc = spawn(cfg, "--queue", str(tmp_path / "q.db"), "--actions-in", "threads",
                 env={"FALCO_RESPONSE_TOKENS": TOKEN})
    proc.wait_ready()
    assert children(proc.proc.pid) == []
    assert Client(proc.port, token=TOKEN).post(alert("t"))[0] == 202
    wait_for(lambda: recorded(record) == ["t"])
    assert recorded(pids) == [str(proc.proc.pid)]
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.finish() == 0


# -- the pool on its own, with stand-in children --------------------------------------------

class Log:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def __getattr__(self, level: str) -> Any:
        return lambda event, **kw: self.lines.append((level, event, kw))


def test_a_child_that_cannot_start_is_an_error(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path / "q.db")
    pool = ActionProcess(queue, Reporter(queue, log=Log(), metrics=Metrics()),
                         [sys.executable, "-c", "import sys; sys.exit(3)"])
    with pytest.raises(ActionProcessError, match="exited with 3 before it was ready"):
        pool.start()
    queue.stop()


CRASHER = textwrap.dedent("""
    import socket, sys
    from falco_response.server.action_process import read_frame, send_frame
    sock = socket.socket(fileno=int(sys.argv[-1]))
    send_frame(sock, ["ready", 0])
    read_frame(sock.makefile("rb"))  # take one batch, then die without finishing it
    sys.exit(7)
""")


def test_a_child_that_keeps_dying_gives_its_alerts_back_then_the_pool_gives_up(
        tmp_path: Path) -> None:
    script = tmp_path / "crasher.py"
    script.write_text(CRASHER)
    queue = DurableQueue(tmp_path / "q.db")
    log = Log()
    pool = ActionProcess(queue, Reporter(queue, log=log, metrics=Metrics()),
                         [sys.executable, str(script)], max_restarts=2)
    pool.start()
    ids = [queue.put(alert(f"c-{i}")) for i in range(5)]
    wait_for(lambda: not pool.alive, 30, "the pool to give up")
    assert queue.ready == 5  # every alert is back in the queue, in order, for the next start
    assert [item.id for item in queue.take_many(10, timeout=0)] == ids
    events = [(level, event) for level, event, _ in log.lines]
    assert events.count(("error", "the action process exited; restarting it")) == 3
    gave_up = ("the action process keeps dying; giving up (the queue keeps every unfinished "
               "alert for the next start)")
    assert ("critical", gave_up) in events
    assert all(kw.get("code") == 7 for level, event, kw in log.lines if level == "error")
    pool.drain(1.0)


def test_dry_run_reaches_the_child(tmp_path: Path, spawn) -> None:  # type: ignore[no-untyped-def]
    """`serve --dry-run` must hold where the actions run, not only where alerts arrive."""
    cfg = write_yaml(tmp_path / "c.yaml", {
        "version": 1, "settings": {"log_level": "error"},
        "responses": [{"name": "note", "actions": [{"type": "log"}]}]})
    proc = spawn(cfg, "--queue", str(tmp_path / "q.db"), "--dry-run")
    proc.wait_ready()
    [child] = children(proc.proc.pid)
    assert "--dry-run" in cmdline(child).split()
    client = Client(proc.port)
    assert client.post(alert("dry"))[0] == 202

    def counted() -> bool:
        text = client.get("/metrics")[2]
        return 'falco_response_action_outcomes_total{action="log",status="dry_run"} 1.0' in text
    wait_for(counted, 10, "a dry_run outcome in /metrics")
    assert 'status="ok"} 1.0' not in client.get("/metrics")[2]
    client.close()
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.finish() == 0


def test_the_server_package_names_load_on_use() -> None:
    import falco_response.server as server

    assert sorted(server.__all__) == sorted(server._WHERE)
    for name in server.__all__:
        assert getattr(server, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        server.Nope  # noqa: B018


def _nice(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
