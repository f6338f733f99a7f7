"""A NATS JetStream consumer: falcosidekick's ``nats`` output publishes each alert to
``falco.<priority>.<rule>``; a stream bound to ``falco.>`` keeps them; every replica of
``consume nats://...`` pulls from one durable consumer, so they share the work.

- A message is fetched only when a worker is free, and acked only after its actions finished
  without a failure. While they run, an in-progress ack every ``ack_wait / 3`` keeps JetStream
  from handing it to another replica; a replica that dies stops sending them, and the message
  comes back after ``ack_wait``.
- A failed message is nak'ed with a growing delay and redelivered. After ``max_deliver``
  deliveries, or at once when it is not an alert at all, it is published to the dead-letter
  subject (with headers saying why, and where it came from) and terminated. Only once
  JetStream has stored the dead letter (a stream must capture that subject): if it cannot,
  the message stays where it is.
- The consumer is created when missing (durable, explicit acks, no delivery limit of its own:
  we count deliveries, so a message that crashes every replica still ends in the dead letter).

nats-py (the ``nats`` extra) is imported only by :meth:`JetStreamConsumer.run`.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..engine import Engine
from .metrics import Metrics
from .nats_source import NatsSource, connect_options

REASON = "Falco-Response-Reason"


class JetStreamConsumer:
    """Consumes ``source`` with ``engine`` until :meth:`stop`, ``workers`` messages at once."""

    def __init__(self, engine: Engine, source: NatsSource, *, workers: int = 4,
                 fetch_wait: float = 5.0, metrics: Metrics | None = None,
                 options: dict[str, Any] | None = None) -> None:
        if workers < 1:
            raise ValueError("workers >= 1")
        self.engine = engine
        self.source = source
        self.workers = workers
        self.fetch_wait = fetch_wait
        self.metrics = metrics
        self.log = engine.log.bind(source=source.url)
        self._options = connect_options(source) if options is None else options
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self.acked = self.naked = self.dead = self.kept = 0
        self.connected = threading.Event()
        self._refused: str | None = None
        self._ack_wait = source.ack_wait

    def stop(self) -> None:
        """Stop fetching; the messages in progress finish (safe from a signal handler)."""
        self._stop.set()
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:  # the loop has finished already
                pass

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        import nats
        from nats.js.errors import NotFoundError

        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        # Retry for ever (a server that is not up yet, a failover), except when it refuses
        # our credentials at start-up: that is a configuration error, reported at once.
        connecting = asyncio.ensure_future(nats.connect(
            servers=list(self.source.servers), name="falco-response",
            max_reconnect_attempts=-1, reconnect_time_wait=1, connect_timeout=5,
            allow_reconnect=True, error_cb=self._error, disconnected_cb=self._disconnected,
            reconnected_cb=self._reconnected, **self._options))
        while not connecting.done():
            await asyncio.wait({connecting}, timeout=0.2)
            if self._refused is not None and not connecting.done():
                connecting.cancel()
                raise ConnectionRefusedError(f"NATS refused the credentials: {self._refused}")
            if self._stop.is_set() and not connecting.done():
                connecting.cancel()
                await asyncio.gather(connecting, return_exceptions=True)
                return
        nc = connecting.result()
        js = nc.jetstream()
        try:
            info = await js.consumer_info(self.source.stream, self.source.consumer)
        except NotFoundError:
            from nats.js.api import AckPolicy, ConsumerConfig

            info = await js.add_consumer(self.source.stream, ConsumerConfig(
                durable_name=self.source.consumer, ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self.source.ack_wait, max_deliver=-1,
                filter_subject=self.source.subject, max_ack_pending=1000))
        # An existing consumer keeps its own AckWait: the in-progress acks follow it.
        self._ack_wait = float(info.config.ack_wait or self.source.ack_wait)
        if self._ack_wait != self.source.ack_wait:
            self.log.warning("the durable consumer's ack_wait differs from the URL's",
                             consumer_ack_wait=self._ack_wait, url_ack_wait=self.source.ack_wait)
        sub = await js.pull_subscribe_bind(self.source.consumer, self.source.stream)
        self.connected.set()
        free = asyncio.Semaphore(self.workers)
        tasks: set[asyncio.Task[None]] = set()
        with ThreadPoolExecutor(self.workers, thread_name_prefix="nats-worker") as pool:
            while not self._stop.is_set():
                await free.acquire()
                count = 1
                while count < self.workers and not free.locked():
                    await free.acquire()
                    count += 1
                messages = await self._fetch(sub, count)
                for message in messages:
                    task = asyncio.create_task(self._work(js, pool, message, free))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                for _ in range(count - len(messages)):
                    free.release()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await nc.flush(timeout=5)  # the naks and terms sent last
        except Exception as exc:
            self.log.warning("flushing to NATS failed", error=str(exc)[:200])
        await nc.close()

    async def _fetch(self, sub: Any, count: int) -> list[Any]:
        from nats.errors import TimeoutError as NatsTimeout

        fetch = asyncio.ensure_future(sub.fetch(count, timeout=self.fetch_wait))
        assert self._wake is not None
        wake = asyncio.ensure_future(self._wake.wait())
        done, _ = await asyncio.wait({fetch, wake}, return_when=asyncio.FIRST_COMPLETED)
        wake.cancel()
        if fetch not in done:  # stopping: a fetch that still delivers is let go (unacked)
            fetch.cancel()
            await asyncio.gather(fetch, return_exceptions=True)
            return []
        try:
            return list(fetch.result())
        except (NatsTimeout, asyncio.TimeoutError):
            return []
        except Exception as exc:
            self.log.error("fetching from JetStream failed",
                           error=f"{type(exc).__name__}: {exc}"[:300])
            await asyncio.sleep(1.0)
            return []

    async def _work(self, js: Any, pool: ThreadPoolExecutor, message: Any,
                    free: asyncio.Semaphore) -> None:
        try:
            deliveries = message.metadata.num_delivered
            if deliveries > self.source.max_deliver:
                await self._dead_letter(js, message, f"delivered {deliveries} times without "
                                        "finishing (a replica died or hung each time)")
                return
            beat = asyncio.create_task(self._in_progress(message))
            loop = asyncio.get_running_loop()
            try:
                results = await loop.run_in_executor(pool, self.engine.handle, message.data)
            except Exception as exc:  # the engine returns failures as values; belt and braces
                self.log.error("handling a NATS message failed",
                               error=f"{type(exc).__name__}: {exc}"[:300])
                results = []
            finally:
                beat.cancel()
            if results and all(r.ok for r in results):
                await message.ack_sync(timeout=10)
                self.acked += 1
            elif results and all(r.alert is None for r in results):
                await self._dead_letter(js, message, f"not an alert: {results[0].error}")
            elif deliveries >= self.source.max_deliver:
                await self._dead_letter(js, message, f"actions failed on each of {deliveries} "
                                        "deliveries")
            else:
                await message.nak(delay=min(2.0 ** deliveries, 60.0))
                self.naked += 1
                self.log.warning("message nak'ed for redelivery", deliveries=deliveries,
                                 sequence=message.metadata.sequence.stream)
        except Exception as exc:  # an ack that did not reach the server: it comes back
            self.log.error("acknowledging a NATS message failed",
                           error=f"{type(exc).__name__}: {exc}"[:300])
        finally:
            free.release()

    async def _in_progress(self, message: Any) -> None:
        every = max(0.5, self._ack_wait / 3)
        while True:
            await asyncio.sleep(every)
            try:
                await message.in_progress()
            except Exception as exc:
                self.log.warning("in-progress ack failed", error=str(exc)[:200])

    async def _dead_letter(self, js: Any, message: Any, reason: str) -> None:
        meta = message.metadata
        headers = {REASON: reason[:500], "Falco-Response-Stream": meta.stream,
                   "Falco-Response-Subject": message.subject,
                   "Falco-Response-Sequence": str(meta.sequence.stream),
                   "Falco-Response-Deliveries": str(meta.num_delivered)}
        try:
            await js.publish(self.source.dead_letter, message.data, headers=headers, timeout=10)
        except Exception as exc:
            self.log.error("dead-letter publish failed: the message stays in the stream",
                           dead_letter=self.source.dead_letter,
                           error=f"{type(exc).__name__}: {exc}"[:300])
            await message.nak(delay=30.0)
            self.kept += 1
            return
        await message.term()
        self.dead += 1
        self.log.error("message sent to the dead-letter subject", reason=reason[:300],
                       dead_letter=self.source.dead_letter, sequence=meta.sequence.stream)

    async def _error(self, exc: Exception) -> None:
        from nats.errors import AuthorizationError

        refused = isinstance(exc, AuthorizationError) or "authorization violation" in \
            str(exc).lower()
        if refused and not self.connected.is_set():
            self._refused = f"{type(exc).__name__}: {exc}"[:300]
        self.log.error("NATS connection error", error=f"{type(exc).__name__}: {exc}"[:300])

    async def _disconnected(self) -> None:
        self.log.warning("NATS disconnected")

    async def _reconnected(self) -> None:
        self.log.warning("NATS reconnected")
