"""An SQS consumer: several replicas behind one queue, scaled by KEDA or an HPA.

Long polling; a message is received only when a worker is free, so nothing waits in memory.
While its actions run, a heartbeat extends the message's visibility, so a slow action is not
handed to another replica. A message is deleted only after its actions finished without a
failure; otherwise it is left alone, comes back after the visibility timeout, and the queue's
redrive policy moves it to a dead-letter queue after ``maxReceiveCount`` tries.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..engine import Engine
from .metrics import Metrics


class SqsConsumer:
    """Consumes ``queue_url`` with ``client`` (a boto3 SQS client) until :meth:`stop`."""

    def __init__(self, engine: Engine, client: Any, queue_url: str, *, workers: int = 4,
                 wait_seconds: int = 20, visibility: int = 60,
                 metrics: Metrics | None = None) -> None:
        if workers < 1 or not 0 <= wait_seconds <= 20 or visibility < 2:
            raise ValueError("workers >= 1, 0 <= wait <= 20 and visibility >= 2 seconds")
        self.engine = engine
        self.client = client
        self.queue_url = queue_url
        self.workers = workers
        self.wait_seconds = wait_seconds
        self.visibility = visibility
        self.metrics = metrics
        self.log = engine.log
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._in_flight: dict[str, tuple[str, float]] = {}  # message id -> (receipt, extended)
        self._free = threading.Semaphore(workers)
        self.deleted = 0
        self.left = 0

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        """Poll until stopped, then finish the messages in progress."""
        heartbeat = threading.Thread(target=self._heartbeat, name="sqs-visibility", daemon=True)
        heartbeat.start()
        with ThreadPoolExecutor(self.workers, thread_name_prefix="sqs-worker") as pool:
            while not self._stop.is_set():
                if not self._free.acquire(timeout=0.5):
                    continue
                free = 1
                while free < min(10, self.workers) and self._free.acquire(blocking=False):
                    free += 1
                try:
                    messages = self._receive(free)
                except Exception as exc:
                    self.log.error("receiving from SQS failed",
                                   error=f"{type(exc).__name__}: {exc}"[:300])
                    messages = []
                    self._stop.wait(2.0)
                for message in messages:
                    with self._lock:
                        self._in_flight[message["MessageId"]] = (message["ReceiptHandle"],
                                                                 time.monotonic())
                    pool.submit(self._work, message)
                for _ in range(free - len(messages)):
                    self._free.release()
        heartbeat.join(timeout=1.0)

    def _receive(self, count: int) -> list[dict[str, Any]]:
        reply = self.client.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=count, WaitTimeSeconds=self.wait_seconds,
            VisibilityTimeout=self.visibility, MessageSystemAttributeNames=["ApproximateReceiveCount"])
        messages: list[dict[str, Any]] = reply.get("Messages", [])
        return messages

    def _work(self, message: dict[str, Any]) -> None:
        message_id = message["MessageId"]
        try:
            results = self.engine.handle(message.get("Body", ""))
            ok = bool(results) and all(r.ok for r in results)
        except Exception as exc:  # the engine returns failures as values; belt and braces
            ok = False
            self.log.error("handling an SQS message failed", message_id=message_id,
                           error=f"{type(exc).__name__}: {exc}"[:300])
        with self._lock:
            receipt, _ = self._in_flight.pop(message_id)
        try:
            if ok:
                self.client.delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt)
                self.deleted += 1
            else:
                self.left += 1
                receives = message.get("Attributes", {}).get("ApproximateReceiveCount")
                self.log.warning("message left for the redrive policy", message_id=message_id,
                                 receive_count=receives)
        except Exception as exc:
            self.log.error("deleting an SQS message failed", message_id=message_id,
                           error=f"{type(exc).__name__}: {exc}"[:300])
        finally:
            self._free.release()

    def _heartbeat(self) -> None:
        """Extend the visibility of messages in progress before it runs out."""
        every = max(1.0, self.visibility / 3)
        while not self._stop.is_set() or self._in_flight:
            time.sleep(min(every / 4, 0.5))
            now = time.monotonic()
            with self._lock:
                due = [(mid, receipt) for mid, (receipt, at) in self._in_flight.items()
                       if now - at >= every]
                for mid, receipt in due:
                    self._in_flight[mid] = (receipt, now)
            for start in range(0, len(due), 10):
                entries = [{"Id": str(i), "ReceiptHandle": receipt,
                            "VisibilityTimeout": self.visibility}
                           for i, (_, receipt) in enumerate(due[start:start + 10])]
                try:
                    self.client.change_message_visibility_batch(QueueUrl=self.queue_url,
                                                                Entries=entries)
                except Exception as exc:
                    self.log.error("extending visibility failed",
                                   error=f"{type(exc).__name__}: {exc}"[:300])
