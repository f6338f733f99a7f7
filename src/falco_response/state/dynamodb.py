"""A state store in a DynamoDB table: for Lambda and anything else that runs on many hosts.

Table layout (``deploy/aws/template.yaml`` creates it): partition key ``pk`` (string), and the
number attribute ``expires_at`` (epoch seconds) declared as the table's TTL attribute. DynamoDB
deletes expired items lazily (within days), so a claim also takes over an item whose
``expires_at`` has passed. boto3 is imported when the store is opened, never before.

Time comes from one source, DynamoDB itself: every reply carries an HTTP ``Date`` header (AWS's
clock), and "now" is the last one seen plus this process's *monotonic* time since. Processes
on hosts whose clocks disagree (by an hour, or by a day) therefore agree on when a claim
expires, within about a second; a process's wall clock is never read. The first call of a
cold start makes one read to learn the time.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from ..audit import AuditRecord
from .pause import Pause, decode as _decode_pause, encode as _encode_pause
from .base import StoreError

PARTITION_KEY = "pk"
TTL_ATTRIBUTE = "expires_at"
AUDIT_PREFIX = "audit#"
SWITCH_KEY = "containment"
"""The one item holding the containment switch: an attribute ``scope:<scope>`` per pause
(no ``expires_at``, so DynamoDB's TTL never removes it)."""
_SCOPE = "scope:"

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(AuditRecord).decode


class ServerClock:
    """Epoch seconds by the server's clock: the ``Date`` of its last reply (whole seconds, so
    the middle of that second is taken) plus the monotonic time since it arrived."""

    def __init__(self) -> None:
        self._base: tuple[float, float] | None = None

    def observe(self, http_response: Any = None, **_: Any) -> None:
        headers = getattr(http_response, "headers", None) or {}
        date = headers.get("Date") or headers.get("date")
        if not date:
            return
        from email.utils import parsedate_to_datetime

        try:
            stamp = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            return
        self._base = (stamp + 0.5, time.monotonic())

    def now(self) -> float | None:
        base = self._base
        return None if base is None else base[0] + time.monotonic() - base[1]


class DynamoDBStore:
    """Claims as conditional writes on one DynamoDB table (one request per call)."""

    def __init__(self, table: str, *, region: str | None = None, endpoint_url: str | None = None,
                 client: Any = None, clock: Callable[[], float] | None = None) -> None:
        self.table = table
        self.url = f"dynamodb://{table}" + (f"?region={region}" if region else "")
        self._server = ServerClock()
        self._clock = clock or self._server_now
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "dynamodb", region_name=region, endpoint_url=endpoint_url,
                config=Config(connect_timeout=3, read_timeout=5,
                              retries={"mode": "standard", "max_attempts": 3}))
        self._client = client
        events = getattr(getattr(client, "meta", None), "events", None)
        if clock is None and events is not None:
            events.register("after-call.dynamodb", self._server.observe)

    def _server_now(self) -> float:
        now = self._server.now()
        if now is None:
            try:  # any reply sets the clock
                self._client.get_item(TableName=self.table, Key={PARTITION_KEY: {"S": "clock#"}})
            except Exception as exc:
                raise StoreError(f"read failed on {self.url}: {_describe(exc)}") from exc
            now = self._server.now()
        return time.time() if now is None else now  # an endpoint that sends no Date

    def held(self, key: str) -> bool:
        try:
            reply = self._client.get_item(TableName=self.table, Key={PARTITION_KEY: {"S": key}},
                                          ConsistentRead=True)
        except Exception as exc:
            raise StoreError(f"read failed on {self.url}: {_describe(exc)}") from exc
        item = reply.get("Item")
        if not item:
            return False
        return float(item.get(TTL_ATTRIBUTE, {}).get("N", "0")) > self._clock()

    def claim(self, key: str, ttl_seconds: float) -> bool:
        now = self._clock()
        try:
            self._client.put_item(
                TableName=self.table,
                Item={PARTITION_KEY: {"S": key},
                      TTL_ATTRIBUTE: {"N": str(math.ceil(now + ttl_seconds))}},
                ConditionExpression="attribute_not_exists(#pk) OR #exp <= :now",
                ExpressionAttributeNames={"#pk": PARTITION_KEY, "#exp": TTL_ATTRIBUTE},
                ExpressionAttributeValues={":now": {"N": str(math.floor(now))}},
            )
        except Exception as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise StoreError(f"claim failed on {self.url}: {_describe(exc)}") from exc
        return True

    def release(self, key: str) -> None:
        try:
            self._client.delete_item(TableName=self.table, Key={PARTITION_KEY: {"S": key}})
        except Exception as exc:
            raise StoreError(f"release failed on {self.url}: {_describe(exc)}") from exc

    def incr(self, key: str, ttl_seconds: float) -> int:
        now = self._clock()
        try:
            # A counter past its expiry starts again: reset it, then count (two requests only
            # when it had expired).
            reply = self._client.update_item(
                TableName=self.table, Key={PARTITION_KEY: {"S": key}},
                UpdateExpression="ADD #n :one SET #exp = :exp",
                ConditionExpression="attribute_not_exists(#pk) OR #exp > :now",
                ExpressionAttributeNames={"#n": "count", "#exp": TTL_ATTRIBUTE,
                                          "#pk": PARTITION_KEY},
                ExpressionAttributeValues={":one": {"N": "1"},
                                           ":exp": {"N": str(math.ceil(now + ttl_seconds))},
                                           ":now": {"N": str(math.floor(now))}},
                ReturnValues="UPDATED_NEW")
        except Exception as exc:
            if _error_code(exc) != "ConditionalCheckFailedException":
                raise StoreError(f"incr failed on {self.url}: {_describe(exc)}") from exc
            self.release(key)
            return self.incr(key, ttl_seconds)
        return int(reply["Attributes"]["count"]["N"])

    def take(self, key: str) -> int:
        now = self._clock()
        try:
            reply = self._client.delete_item(TableName=self.table,
                                             Key={PARTITION_KEY: {"S": key}},
                                             ReturnValues="ALL_OLD")
        except Exception as exc:
            raise StoreError(f"take failed on {self.url}: {_describe(exc)}") from exc
        old = reply.get("Attributes") or {}
        if "count" not in old or float(old.get(TTL_ATTRIBUTE, {}).get("N", "0")) <= now:
            return 0
        return int(old["count"]["N"])

    def record(self, records: Sequence[AuditRecord], ttl_seconds: float) -> None:
        expires = str(math.ceil(self._clock() + ttl_seconds))
        items = [{"PutRequest": {"Item": {
            PARTITION_KEY: {"S": f"{AUDIT_PREFIX}{r.time_ns:020d}#{i}#{uuid.uuid4().hex[:8]}"},
            TTL_ATTRIBUTE: {"N": expires},
            "record": {"B": _encode(r)}}}} for i, r in enumerate(records)]
        try:
            for start in range(0, len(items), 25):
                pending = {self.table: items[start:start + 25]}
                for _ in range(5):
                    reply = self._client.batch_write_item(RequestItems=pending)
                    pending = reply.get("UnprocessedItems") or {}
                    if not pending:
                        break
                else:
                    raise StoreError(f"audit record failed on {self.url}: DynamoDB left "
                                     "items unprocessed")
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"audit record failed on {self.url}: {_describe(exc)}") from exc

    def history(self, since_ns: int) -> list[AuditRecord]:
        """A filtered scan: the table holds claims, counters and the trail, all short-lived."""
        now = str(math.floor(self._clock()))
        found: list[AuditRecord] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "FilterExpression": "begins_with(#pk, :prefix) AND #pk >= :since AND #exp > :now",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY, "#exp": TTL_ATTRIBUTE},
            "ExpressionAttributeValues": {":prefix": {"S": AUDIT_PREFIX},
                                          ":since": {"S": f"{AUDIT_PREFIX}{since_ns:020d}"},
                                          ":now": {"N": now}},
        }
        try:
            while True:
                page = self._client.scan(**kwargs)
                found.extend(_decode(item["record"]["B"]) for item in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except Exception as exc:
            raise StoreError(f"audit query failed on {self.url}: {_describe(exc)}") from exc
        return sorted(found, key=lambda r: r.time_ns)

    def put(self, key: str, value: bytes, ttl_seconds: float) -> None:
        expires = str(math.ceil(self._clock() + ttl_seconds))
        try:
            self._client.put_item(TableName=self.table, Item={
                PARTITION_KEY: {"S": key}, TTL_ATTRIBUTE: {"N": expires}, "value": {"B": value}})
        except Exception as exc:
            raise StoreError(f"put failed on {self.url}: {_describe(exc)}") from exc

    def put_new(self, key: str, value: bytes, ttl_seconds: float) -> bytes | None:
        now = self._clock()
        try:
            self._client.put_item(
                TableName=self.table,
                Item={PARTITION_KEY: {"S": key}, "value": {"B": value},
                      TTL_ATTRIBUTE: {"N": str(math.ceil(now + ttl_seconds))}},
                ConditionExpression="attribute_not_exists(#pk) OR #exp <= :now",
                ExpressionAttributeNames={"#pk": PARTITION_KEY, "#exp": TTL_ATTRIBUTE},
                ExpressionAttributeValues={":now": {"N": str(math.floor(now))}})
        except Exception as exc:
            if _error_code(exc) != "ConditionalCheckFailedException":
                raise StoreError(f"put_new failed on {self.url}: {_describe(exc)}") from exc
            return self.get(key) or b""
        return None

    def get(self, key: str) -> bytes | None:
        try:
            reply = self._client.get_item(TableName=self.table, Key={PARTITION_KEY: {"S": key}},
                                          ConsistentRead=True)
        except Exception as exc:
            raise StoreError(f"get failed on {self.url}: {_describe(exc)}") from exc
        item = reply.get("Item") or {}
        if "value" not in item or float(item.get(TTL_ATTRIBUTE, {}).get("N", "0")) <= \
                self._clock():
            return None
        return bytes(item["value"]["B"])

    def scan(self, prefix: str) -> list[tuple[str, bytes]]:
        kwargs: dict[str, Any] = {
            "TableName": self.table, "ConsistentRead": True,
            "FilterExpression": "begins_with(#pk, :prefix) AND #exp > :now",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY, "#exp": TTL_ATTRIBUTE},
            "ExpressionAttributeValues": {":prefix": {"S": prefix},
                                          ":now": {"N": str(math.floor(self._clock()))}},
        }
        found: list[tuple[str, bytes]] = []
        try:
            while True:
                page = self._client.scan(**kwargs)
                found.extend((item[PARTITION_KEY]["S"], bytes(item["value"]["B"]))
                             for item in page.get("Items", []) if "value" in item)
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except Exception as exc:
            raise StoreError(f"scan failed on {self.url}: {_describe(exc)}") from exc
        return sorted(found)

    def pauses(self) -> dict[str, Pause]:
        try:
            reply = self._client.get_item(TableName=self.table,
                                          Key={PARTITION_KEY: {"S": SWITCH_KEY}},
                                          ConsistentRead=True)
        except Exception as exc:
            raise StoreError(f"containment switch unreadable on {self.url}: "
                             f"{_describe(exc)}") from exc
        item = reply.get("Item") or {}
        return {name[len(_SCOPE):]: _decode_pause(value["B"]) for name, value in item.items()
                if name.startswith(_SCOPE)}

    def set_pause(self, scope: str, pause: Pause | None) -> None:
        names = {"#s": _SCOPE + scope}
        kwargs: dict[str, Any] = {"TableName": self.table,
                                  "Key": {PARTITION_KEY: {"S": SWITCH_KEY}},
                                  "ExpressionAttributeNames": names}
        if pause is None:
            kwargs["UpdateExpression"] = "REMOVE #s"
        else:
            kwargs["UpdateExpression"] = "SET #s = :p"
            kwargs["ExpressionAttributeValues"] = {":p": {"B": _encode_pause(pause)}}
        try:
            self._client.update_item(**kwargs)
        except Exception as exc:
            raise StoreError(f"containment switch not set on {self.url}: "
                             f"{_describe(exc)}") from exc

    def close(self) -> None:
        close = getattr(self._client, "close", None)
        if close is not None:
            close()


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def _describe(exc: Exception) -> str:
    return f"{_error_code(exc) or type(exc).__name__}: {exc}"[:300]
