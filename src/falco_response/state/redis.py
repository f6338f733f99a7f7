"""A state store on Redis (or Valkey, which speaks the same protocol): for several replicas in
a cluster, outside AWS. ``redis://host:6379/0``, ``rediss://`` for TLS.

Every operation is one round trip and atomic on the server: a small Lua script (run with
EVALSHA; the client loads it again after a server restart). **Time is the server's**: claims
and counters expire by ``PX`` TTLs the server keeps, and the audit trail is trimmed against the
server's ``TIME``, so a replica whose clock is wrong cannot take a live cooldown or a
blast-radius slot early. The client's clock only stamps audit records (``time_ns``).

Keys: ``<prefix><kind>:<name>`` (prefix ``falco-response:`` by default, ``?prefix=`` to share a
database between deployments). The kinds today:

- ``claim``: a string with a ``PX`` TTL. Its value is a random token per call, so a retried
  ``claim`` (the first reply was lost) recognises its own write instead of reporting "taken";
- ``count``: an integer whose ``PX`` TTL is renewed by each increment;
- ``value``: a string with a ``PX`` TTL (``put``/``put_new``/``get``/``scan``: pending
  approvals, their decisions and results); ``put_new`` is ``SET NX`` and a ``GET`` in one
  script, so the first decision wins and the loser reads it;
- ``audit``: one sorted set, score = the record's time in microseconds, member = a random
  8-character tag + the record's JSON. ``history`` is one ``ZRANGEBYSCORE`` (paged), O(log N + M)
  over any window. Retention: each ``record`` drops members older than the retention by the
  server's clock and renews the set's TTL, so an idle trail disappears whole.

Adding a record kind (pending approvals, the pause switch): pick a new kind name, build keys
with :meth:`RedisStore.key`, and give each operation one command or one script so it stays
atomic, e.g. an approval as a hash (``HSET`` + ``PEXPIRE`` in one script, ``HGETALL`` to read)
and the pause switch as a plain key (``SET``/``GET``/``DEL``). Wrap calls in :meth:`_call` so
failures surface as :class:`StoreError`.

Secrets: the password comes from the URL (``redis://:${FALCO_RESPONSE_REDIS_PASSWORD}@host``)
or from ``FALCO_RESPONSE_REDIS_PASSWORD``; :attr:`url` and every error message are without it.
TLS files: ``FALCO_RESPONSE_REDIS_CA_FILE``, ``FALCO_RESPONSE_REDIS_CERT_FILE`` and
``FALCO_RESPONSE_REDIS_KEY_FILE`` (client certificate). The ``redis`` package (extra
``falco-response[redis]``) is imported when the store is opened, never before.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import msgspec

from .. import environment
from ..audit import AuditRecord
from .pause import Pause, decode as _decode_pause, encode as _encode_pause
from .base import StoreError

PASSWORD_ENV = environment.REDIS_PASSWORD
TLS_ENV = {"ssl_ca_certs": environment.REDIS_CA_FILE,
           "ssl_certfile": environment.REDIS_CERT_FILE,
           "ssl_keyfile": environment.REDIS_KEY_FILE}
OPTIONS = ("prefix", "timeout")
"""Query options of a ``redis://`` URL (besides what redis-py itself reads, which we refuse:
one documented way to say each thing)."""

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(AuditRecord).decode
_T = TypeVar("_T")
_PAGE = 1000
_TAG = 8

# A claim is taken when absent (or expired: the server removed it) or when it holds our own
# token (a retry of a call whose reply was lost).
_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0
"""
_INCR = """
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return n
"""
_TAKE = """
local v = redis.call('GET', KEYS[1])
if v then redis.call('DEL', KEYS[1]) return tonumber(v) end
return 0
"""
_PUT_NEW = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
return redis.call('GET', KEYS[1])
"""
# ARGV[1] = retention in microseconds, then score/member pairs.
_RECORD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV, 2 do redis.call('ZADD', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. string.format('%.0f', now - ttl))
redis.call('PEXPIRE', KEYS[1], math.ceil(ttl / 1000))
return #ARGV
"""


def redact(url: str) -> str:
    """The URL without its userinfo (user, password): what logs and errors may show."""
    scheme, sep, rest = url.partition("://")
    netloc, slash, tail = rest.partition("/")
    host = netloc.rpartition("@")[2]
    return f"{scheme}{sep}{host}{slash}{tail.partition('?')[0]}"


def check_url(url: str) -> str | None:
    """What is wrong with a ``redis://`` / ``rediss://`` URL, or None (no connection made)."""
    from urllib.parse import parse_qs, urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # its message may quote part of a password: say it without it
        return ("malformed URL: the port is not a number from 1 to 65535 (percent-encode "
                "'/', '@' and ':' in a password, or set FALCO_RESPONSE_REDIS_PASSWORD)")
    if not parts.hostname:
        return "names no host: use redis://host:6379/0"
    if port is not None and not 0 < port < 65536:
        return "port out of range"
    db = parts.path.strip("/")
    if db and not db.isdigit():
        return "the path must be a database number, as in redis://host:6379/0"
    unknown = set(parse_qs(parts.query)) - set(OPTIONS)
    if unknown:
        return f"unknown option(s) {', '.join(sorted(unknown))} (known: {', '.join(OPTIONS)})"
    timeout = parse_qs(parts.query).get("timeout", ["3"])[0]
    try:
        if float(timeout) <= 0:
            raise ValueError
    except ValueError:
        return f"timeout must be a positive number of seconds, not {timeout!r}"
    return None


class RedisStore:
    """Claims, counters and the audit trail on one Redis/Valkey server (see the module doc).

    ``client`` may be a ``redis.Redis`` the caller built (tests, a shared pool)."""

    def __init__(self, url: str, *, client: Any = None) -> None:
        problem = check_url(url)
        if problem is not None:
            raise ValueError(f"store URL {redact(url)!r}: {problem}")
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.url = redact(url)
        self.prefix = query.get("prefix", "falco-response:")
        from urllib.parse import unquote

        self._password = (unquote(parts.password) if parts.password else None) \
            or os.environ.get(PASSWORD_ENV) or None
        if client is None:
            client = _connect(parts, self._password, float(query.get("timeout", "3")))
        self._client = client
        self._claim = client.register_script(_CLAIM)
        self._incr = client.register_script(_INCR)
        self._take = client.register_script(_TAKE)
        self._record = client.register_script(_RECORD)
        self._put_new = client.register_script(_PUT_NEW)

    def key(self, kind: str, name: str) -> str:
        """Where a record of ``kind`` named ``name`` lives."""
        return f"{self.prefix}{kind}:{name}"

    def claim(self, key: str, ttl_seconds: float) -> bool:
        token = secrets.token_hex(8)
        ms = max(1, int(ttl_seconds * 1000))
        return bool(self._call("claim", lambda: self._claim(
            keys=[self.key("claim", key)], args=[token, ms])))

    def held(self, key: str) -> bool:
        """``EXISTS``: the server drops an expired claim itself, so no clock is read here."""
        return bool(self._call("read", lambda: self._client.exists(self.key("claim", key))))

    def release(self, key: str) -> None:
        self._call("release", lambda: self._client.delete(self.key("claim", key)))

    def incr(self, key: str, ttl_seconds: float) -> int:
        ms = max(1, int(ttl_seconds * 1000))
        return int(self._call("incr", lambda: self._incr(keys=[self.key("count", key)],
                                                          args=[ms])))

    def take(self, key: str) -> int:
        return int(self._call("take", lambda: self._take(keys=[self.key("count", key)])))

    def record(self, records: Sequence[AuditRecord], ttl_seconds: float) -> None:
        if not records:
            return
        args: list[Any] = [max(1, int(ttl_seconds * 1_000_000))]
        for r in records:
            args += [r.time_ns // 1000, secrets.token_hex(_TAG // 2).encode() + _encode(r)]
        self._call("audit record", lambda: self._record(keys=[self.key("audit", "trail")],
                                                         args=args))

    def history(self, since_ns: int) -> list[AuditRecord]:
        """Pages of ``ZRANGEBYSCORE``, each starting past the last page's top score (all
        members at that score are read at once), so trimming while we read skips nothing."""
        key = self.key("audit", "trail")
        client = self._client
        members: list[bytes] = []
        low = str(since_ns // 1000)
        while True:
            page: list[tuple[bytes, float]] = self._call("audit query", lambda: (
                client.zrangebyscore(key, low, "+inf", start=0, num=_PAGE, withscores=True)))
            if len(page) < _PAGE:
                members.extend(m for m, _ in page)
                break
            top = page[-1][1]
            members.extend(m for m, score in page if score < top)
            members.extend(self._call("audit query", lambda: client.zrangebyscore(
                key, top, top)))
            low = f"({top:.0f}"
        found = [_decode(member[_TAG:]) for member in members]
        return [r for r in found if r.time_ns >= since_ns]

    def put(self, key: str, value: bytes, ttl_seconds: float) -> None:
        ms = max(1, int(ttl_seconds * 1000))
        self._call("put", lambda: self._client.set(self.key("value", key), value, px=ms))

    def put_new(self, key: str, value: bytes, ttl_seconds: float) -> bytes | None:
        ms = max(1, int(ttl_seconds * 1000))
        found = self._call("put_new", lambda: self._put_new(keys=[self.key("value", key)],
                                                             args=[value, ms]))
        return None if found is None else bytes(found)

    def get(self, key: str) -> bytes | None:
        found = self._call("get", lambda: self._client.get(self.key("value", key)))
        return None if found is None else bytes(found)

    def scan(self, prefix: str) -> list[tuple[str, bytes]]:
        """``SCAN`` for the prefix (glob characters escaped), then one ``MGET``."""
        base = self.key("value", "")
        pattern = "".join("\\" + c if c in "*?[]\\" else c for c in base + prefix) + "*"
        client = self._client
        keys: list[bytes] = self._call("scan", lambda: list(
            client.scan_iter(match=pattern, count=500)))
        if not keys:
            return []
        values = self._call("scan", lambda: client.mget(keys))
        return sorted((k.decode()[len(base):], bytes(v)) for k, v in zip(keys, values)
                      if v is not None)

    def pauses(self) -> dict[str, Pause]:
        """The switch is one hash without a TTL (``pause:switch``), field = scope."""
        found: dict[Any, bytes] = self._call("containment switch read", lambda: (
            self._client.hgetall(self.key("pause", "switch"))))
        return {(k.decode() if isinstance(k, bytes) else str(k)): _decode_pause(v)
                for k, v in found.items()}

    def set_pause(self, scope: str, pause: Pause | None) -> None:
        key = self.key("pause", "switch")
        if pause is None:
            self._call("containment switch write", lambda: self._client.hdel(key, scope))
        else:
            self._call("containment switch write", lambda: self._client.hset(
                key, scope, _encode_pause(pause)))

    def close(self) -> None:
        try:
            self._client.close()
        except Exception:  # closing a pool whose server went away
            pass

    def _call(self, what: str, call: Callable[[], _T]) -> _T:
        from redis.exceptions import RedisError

        try:
            return call()
        except RedisError as exc:
            message = f"{type(exc).__name__}: {exc}"
            if self._password:
                message = message.replace(self._password, "***")
            raise StoreError(f"{what} failed on {self.url}: {message}"[:300]) from None


def _connect(parts: Any, password: str | None, timeout: float) -> Any:
    """A client that reconnects by itself: a few quick retries on connection errors (a
    restarted server, a failover), then the error goes to the caller as a store failure."""
    from urllib.parse import unquote

    try:
        import redis
    except ImportError:
        raise StoreError("redis:// needs the 'redis' package: "
                         "pip install 'falco-response[redis]'") from None
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    kwargs: dict[str, Any] = {}
    if parts.scheme == "rediss":
        kwargs["ssl"] = True
        for option, env in TLS_ENV.items():
            if os.environ.get(env):
                kwargs[option] = os.environ[env]
    return redis.Redis(
        host=parts.hostname, port=parts.port or 6379, db=int(parts.path.strip("/") or 0),
        username=unquote(parts.username) if parts.username else None, password=password,
        socket_timeout=timeout, socket_connect_timeout=timeout,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 3),
        retry_on_error=[redis.exceptions.ConnectionError, redis.exceptions.TimeoutError],
        health_check_interval=30, client_name="falco-response", **kwargs)
