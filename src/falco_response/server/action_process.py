"""Actions in a child process, so intake keeps its interpreter to itself.

Python runs one thread at a time per process. When actions (parsing, matching, a plugin's own
code, the HTTP clients) share the intake process, every alert's actions take interpreter time
from the event loop that answers Falco, and a CPU-heavy plugin slows intake for everyone.
``falco-response serve`` therefore runs its worker threads in a second process by default
(``--actions-in process``); ``--actions-in threads`` and :func:`~.app.build_receiver` (for a
custom engine built in code) keep them in the intake process (:mod:`.workers`).

The durable queue stays in the intake process, which alone writes it. The two processes talk
over a Unix socket pair, in length-prefixed msgpack frames:

- intake to actions: ``[[id, body], ...]``, a batch of committed queue rows (:mod:`.queued`),
  and ``"stop"``
  once intake drained (the socket closing without it means intake was killed: the child
  exits at once, since intake's queue still holds what the child had);
- actions to intake: ``["ready", pid]`` once the config is loaded, then
  ``[[[id, error], ...], tally]``: finished rows, each with ``error`` None or the text of
  what handling it raised, and what the metrics count of them (a :class:`~.tally.Tally`).
  Intake then acknowledges the first kind in the queue, and retries (in the end
  dead-letters) the second, through the same :class:`~.runner.Reporter` as :mod:`.workers`.

An alert is acknowledged only after its actions finished in the child. When the child dies,
the alerts it held go back to the front of the queue and a new child starts (at-least-once, as
after a crash of the whole server); each counts the death as a failed try, and they are sent
one at a time until they are done, so an alert that kills the child (a poison alert) is the
only one whose tries run out: it moves to the dead-letter table instead of killing every
child after it. After ``max_restarts`` deaths in a minute the pool reports itself dead, so
``/healthz`` fails and the kubelet restarts the container.
"""

from __future__ import annotations

import argparse
import os
import queue as queues
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, Optional

import msgspec

from .runner import drain, handle_row
from .tally import Tally

if TYPE_CHECKING:  # the child needs none of these (nor prometheus-client)
    from ..engine import Engine
    from ..outcome import Result
    from .queue import DurableQueue, Item
    from .runner import Reporter

_HEADER = struct.Struct("<I")
_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder().decode
_decode_finished = msgspec.msgpack.Decoder(tuple[list[tuple[int, Optional[str]]], Tally]).decode
BATCH = 512
"""Most alerts sent to the child in one frame."""
GATHER = 0.02
"""Seconds each side lets alerts (or acknowledgements) gather after sending a frame. Intake
answers Falco once an alert is committed, not once it is sent on, so this costs intake
nothing; it saves a thread wake-up on each side for every few alerts, which at thousands of
alerts a second would cost intake's event loop more than the alerts themselves. A lone alert
is sent at once; one that arrives within this time of the last frame waits for the next."""


NICE = 10
"""How much lower the action process's CPU priority is than intake's."""


class ActionProcessError(Exception):
    """The action process could not start (its own error is on stderr)."""


def send_frame(sock: socket.socket, message: Any) -> None:
    data = _encode(message)
    sock.sendall(_HEADER.pack(len(data)) + data)


def read_frame(stream: BinaryIO, decode: Callable[[bytes], Any] = _decode) -> Any:
    """The next message (read by ``decode``), or None at the end of the stream (the other
    side closed it)."""
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    size = _HEADER.unpack(head)[0]
    data = stream.read(size)
    if len(data) < size:
        return None
    return decode(data)


# -- the intake side --------------------------------------------------------------------------

class _Child:
    """One running action process and the alerts sent to it and not yet finished."""

    def __init__(self, command: list[str], env: dict[str, str] | None,
                 startup_timeout: float) -> None:
        ours, theirs = socket.socketpair()
        try:
            self.proc = subprocess.Popen([*command, "--fd", str(theirs.fileno())],
                                         pass_fds=(theirs.fileno(),), env=env,
                                         stdin=subprocess.DEVNULL)
        finally:
            theirs.close()
        self.sock = ours
        self.stream = ours.makefile("rb")
        self.inflight: dict[int, Item] = {}
        self.lock = threading.Lock()
        self.dead = False  # set once its alerts were given back: nothing more goes to it
        ours.settimeout(startup_timeout)
        try:
            hello = read_frame(self.stream)
        except (OSError, ValueError):  # timed out, reset, or not our protocol
            hello = None
        ours.settimeout(None)
        if not (isinstance(hello, list) and hello[:1] == ["ready"]):
            self.close()
            try:
                code = self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                code = self.proc.wait()
            raise ActionProcessError(f"the action process exited with {code} before it was "
                                     "ready (its error is above)")

    def close(self) -> None:
        self.stream.close()
        self.sock.close()

    def hand(self, items: list[Item]) -> bool:
        """Note ``items`` as sent to this child; False when it is dead (send them elsewhere)."""
        with self.lock:
            if self.dead:
                return False
            for item in items:
                self.inflight[item.id] = item
            return True

    def take_all(self) -> list[Item]:
        """The child exited: what it held and did not finish, oldest first."""
        with self.lock:
            self.dead = True
            items = sorted(self.inflight.values(), key=lambda item: item.id)
            self.inflight.clear()
        return items


class ActionProcess:
    """The worker pool of ``serve`` in a child process: the interface of
    :class:`~.workers.Workers` (``start``, ``alive``, ``busy``, ``drain``).

    ``command`` starts the child (see :func:`command_for`); a feeder thread sends it batches
    taken from ``queue``, and a reader thread acknowledges what it finished and counts the
    outcomes through ``reporter`` (as :class:`~.workers.Workers` does).
    """

    def __init__(self, queue: DurableQueue, reporter: Reporter, command: list[str], *,
                 env: dict[str, str] | None = None, startup_timeout: float = 120.0,
                 max_restarts: int = 5) -> None:
        self.queue = queue
        self.reporter = reporter
        self.command = command
        self.env = env
        self.log = reporter.log
        self.startup_timeout = startup_timeout
        self.max_restarts = max_restarts
        self._child: _Child | None = None
        self._has_child = threading.Condition()
        self._stopping = threading.Event()
        self._suspects: set[int] = set()  # held by a child that died: sent one at a time
        self._suspects_lock = threading.Lock()
        self._gave_up = False
        self._deaths: list[float] = []
        self._feeder = threading.Thread(target=self._feed, name="action-feeder", daemon=True)
        self._reader = threading.Thread(target=self._supervise, name="action-reader",
                                        daemon=True)

    def start(self) -> None:
        """Start the child and wait until its config is loaded (raises ActionProcessError)."""
        self._child = _Child(self.command, self.env, self.startup_timeout)
        self.log.info("action process started", pid=self._child.proc.pid)
        self._feeder.start()
        self._reader.start()

    @property
    def alive(self) -> bool:
        return not self._gave_up and not self._stopping.is_set() and self._reader.is_alive()

    @property
    def busy(self) -> int:
        child = self._child
        if child is None:
            return 0
        with child.lock:
            return len(child.inflight)

    def _feed(self) -> None:
        while not self._stopping.is_set():
            with self._has_child:
                while self._child is None and not self._stopping.is_set():
                    self._has_child.wait(0.5)
                child = self._child
            if child is None:
                continue
            with self._suspects_lock:
                isolating = bool(self._suspects)
            if isolating and self.busy:  # one alert at a time until the suspects are done
                self._stopping.wait(GATHER)
                continue
            items = self.queue.take_many(1 if isolating else BATCH, timeout=0.5)
            if not items:
                continue
            if not child.hand(items):
                self.queue.give_back(items)
                with self._has_child:
                    if self._child is child:
                        self._has_child.wait(1.0)
                continue
            try:
                send_frame(child.sock, [[item.id, item.body] for item in items])
            except OSError:
                # The child is gone: the reader gives back what it held; wait for the next.
                with self._has_child:
                    if self._child is child:
                        self._has_child.wait(1.0)
                continue
            if len(items) < BATCH:
                self._stopping.wait(GATHER)

    def _supervise(self) -> None:
        """Read acknowledgements until the child exits; then give its alerts back and start
        another, unless stopping or it keeps dying."""
        while True:
            child = self._child
            assert child is not None
            self._read_acks(child)
            code = child.proc.wait()
            child.close()
            left = child.take_all()
            if left and self._stopping.is_set():
                self.queue.give_back(left)
            elif left:
                left = self._after_death(left, code)
            if self._stopping.is_set():
                return
            now = time.monotonic()
            self._deaths = [t for t in self._deaths if now - t < 60.0] + [now]
            self.log.error("the action process exited; restarting it", code=code,
                           given_back=len(left), deaths_in_last_minute=len(self._deaths))
            with self._has_child:
                self._child = None
            if len(self._deaths) > self.max_restarts:
                self._gave_up = True
                self.log.critical("the action process keeps dying; giving up (the queue keeps "
                                  "every unfinished alert for the next start)")
                return
            if self._stopping.wait(min(2.0 ** (len(self._deaths) - 1) * 0.1, 5.0)):
                return  # draining: what is left stays queued for the next start
            try:
                new = _Child(self.command, self.env, self.startup_timeout)
            except (ActionProcessError, OSError) as exc:
                self._gave_up = True
                self.log.critical("the action process could not be restarted", error=str(exc))
                return
            with self._has_child:
                if not self._stopping.is_set():
                    self._child = new
                    self._has_child.notify_all()
            if self._child is not new:  # drain began while it started: it holds nothing
                self._stop_child(new, 5.0)
                new.close()
                return
            self.log.info("action process started", pid=new.proc.pid)

    def _after_death(self, held: list[Item], code: int) -> list[Item]:
        """The child died holding ``held``: one of them may be what kills it (a poison
        alert). Each counts the death as a failed try: those at their last try move to the
        dead-letter table, the rest go back to the queue and are sent one at a time until
        they are done, so the next death can only count against the alert that caused it.
        What was given back (the rest)."""
        error = f"the action process exited with {code} while handling it"
        kept = [item for item in (self.reporter.dead_letter_if_done(held_item, error)
                                  for held_item in held) if item is not None]
        with self._suspects_lock:
            self._suspects = {item.id for item in kept}
        if kept:
            self.queue.give_back(kept)
        return kept

    def _read_acks(self, child: _Child) -> None:
        finished = self.reporter.finished
        while True:
            try:
                frame = read_frame(child.stream, _decode_finished)
                if frame is None:
                    return
                done, tally = frame
            except OSError:  # reset: the child died with our frames unread
                return
            except ValueError as exc:  # msgspec.DecodeError and ValidationError are ones
                # The stream cannot be trusted past this point: start a new child.
                self.log.error("bad message from the action process; stopping it",
                               error=str(exc)[:200])
                child.proc.kill()
                return
            with child.lock:
                items = [(child.inflight.pop(item_id, None), error) for item_id, error in done]
            if self._suspects:
                with self._suspects_lock:
                    self._suspects.difference_update(item_id for item_id, _ in done)
            finished([(item, error) for item, error in items if item is not None], tally)

    def drain(self, timeout: float) -> bool:
        """See :func:`.runner.drain`: the child finishes what it holds, then exits."""
        return drain(self.queue, timeout, busy=lambda: self.busy, alive=lambda: self.alive,
                     stop=self._stop, log=self.log)

    def _stop(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        self._stopping.set()
        with self._has_child:
            self._has_child.notify_all()
        self._feeder.join(max(0.0, deadline - time.monotonic()) + 1.0)
        with self._has_child:
            child = self._child
        if child is not None:
            self._stop_child(child, max(0.0, deadline - time.monotonic()) + 1.0)
        self._reader.join(5.0)

    def _stop_child(self, child: _Child, timeout: float) -> None:
        """Ask ``child`` to finish what it holds and exit; kill it after ``timeout``."""
        try:
            send_frame(child.sock, "stop")
            child.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        try:
            child.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.log.warning("the action process did not finish in time; stopping it")
            child.proc.kill()
            child.proc.wait()


def command_for(config: str, *, workers: int, dry_run: bool) -> list[str]:
    """The command line of an action process for ``config`` (run with this interpreter)."""
    command = [sys.executable, "-m", __name__, "--config", config, "--workers", str(workers)]
    return [*command, "--dry-run"] if dry_run else command


# -- the action side --------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    """The child: load the engine, say ready, run each row it is sent on ``--workers``
    threads, report each finished one; finish everything and exit when intake closes."""
    from ..loading import EXIT_CONFIG, load_engine

    # Signals are for the intake process: it drains, then closes the socket, and we finish.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # When the CPU is short, intake (answering Falco, committing) goes first; actions wait on
    # the network most of the time and catch up as soon as the CPU is free.
    os.nice(NICE)
    args = _child_arguments(argv)
    sock = socket.socket(fileno=args.fd)
    engine = load_engine(args.config, dry_run=args.dry_run)
    if engine is None:
        return EXIT_CONFIG
    child = _ChildSide(engine, sock, max(1, args.workers))
    send_frame(sock, ["ready", os.getpid()])
    child.start()
    child.receive()
    child.finish()
    engine.close()
    return 0


def _child_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="falco-response action process")
    parser.add_argument("--config", required=True)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--fd", type=int, required=True)
    return parser.parse_args(argv)


class _ChildSide:
    """The child's threads: ``workers`` handle rows from ``work``, one reporter sends what
    they finished to intake in batches; the main thread reads intake's frames."""

    def __init__(self, engine: Engine, sock: socket.socket, workers: int) -> None:
        self.engine = engine
        self.sock = sock
        self.log = engine.log
        self.work: queues.SimpleQueue[tuple[int, bytes] | None] = queues.SimpleQueue()
        self.done: queues.SimpleQueue[tuple[int, list[Result], str | None] | None] = \
            queues.SimpleQueue()
        self.workers = [threading.Thread(target=self.run_rows, name=f"worker-{i}",
                                         daemon=True) for i in range(workers)]
        self.reporter = threading.Thread(target=self.report, name="reporter", daemon=True)

    def start(self) -> None:
        for thread in [*self.workers, self.reporter]:
            thread.start()

    def run_rows(self) -> None:
        while (item := self.work.get()) is not None:
            item_id, body = item
            error = None
            try:
                results = handle_row(self.engine, body)
            except Exception as exc:  # the engine returns failures as values; belt and braces
                error = f"{type(exc).__name__}: {exc}"[:300]
                self.log.error("worker failed on an alert", item=item_id, error=error)
                results = []
            self.done.put((item_id, results, error))

    def report(self) -> None:
        """Send what the workers finished, gathered into frames, until told to stop."""
        finished = False
        while not finished:
            batch, finished = self._gather()
            if batch:
                tally = Tally()
                for _, results, _ in batch:
                    tally.add(results)
                try:
                    send_frame(self.sock, [[(item_id, error) for item_id, _, error in batch],
                                           tally])
                except OSError:
                    return  # intake is gone: what we finished is worked again after restart
                if not finished:
                    time.sleep(GATHER)

    def _gather(self) -> tuple[list[tuple[int, list[Result], str | None]], bool]:
        """What is finished now (waiting for the first), and whether the end was seen."""
        first = self.done.get()
        if first is None:
            return [], True
        batch = [first]
        while True:
            try:
                more = self.done.get_nowait()
            except queues.Empty:
                return batch, False
            if more is None:
                return batch, True
            batch.append(more)

    def receive(self) -> None:
        """Queue each row intake sends until it says ``stop``; exit at once if it died."""
        stream = self.sock.makefile("rb")
        while True:
            try:
                frame = read_frame(stream)
            except (OSError, ValueError) as exc:
                self.log.error("bad message from intake", error=str(exc)[:200])
                frame = None
            if frame == "stop":
                return
            if frame is None:
                # Intake died without stopping us (killed): what we hold is still in its
                # queue and is worked again when it restarts, so finishing it would act twice.
                self.log.error("intake went away; exiting without finishing", pid=os.getpid())
                os._exit(1)
            for item_id, body in frame:
                self.work.put((item_id, body))

    def finish(self) -> None:
        """Let the workers finish every queued row, then the reporter send the last."""
        for _ in self.workers:
            self.work.put(None)
        for thread in self.workers:
            thread.join()
        self.done.put(None)
        self.reporter.join()


if __name__ == "__main__":
    sys.exit(main())
