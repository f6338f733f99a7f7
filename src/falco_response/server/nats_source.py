"""``nats://`` source URLs for ``consume`` and the connection options they imply.

``nats://host:4222?stream=FALCO&consumer=falco-response`` (``tls://`` for TLS; several servers
as ``nats://a:4222,b:4222``). Options: ``stream`` and ``consumer`` (required), ``subject``
(the consumer's filter; default: the whole stream), ``dead_letter`` (default
``falco-response.dead``), ``max_deliver`` (default 5), ``ack_wait`` seconds (default 30).

Secrets never go in the URL (it shows in ``ps`` and in logs); they come from the environment,
the names in :data:`ENV`. Nothing here imports nats-py.
"""

from __future__ import annotations

import os
from typing import Any

import msgspec

from .. import environment

ENV = {
    "token": environment.NATS_TOKEN,
    "user": environment.NATS_USER,
    "password": environment.NATS_PASSWORD,
    "creds": environment.NATS_CREDS,          # a .creds file (JWT + NKey seed)
    "nkey_seed": environment.NATS_NKEY_SEED,  # a file holding an NKey seed
    "ca_file": environment.NATS_CA_FILE,
    "cert_file": environment.NATS_CERT_FILE,  # client certificate (mutual TLS)
    "key_file": environment.NATS_KEY_FILE,
}
OPTIONS = ("stream", "consumer", "subject", "dead_letter", "max_deliver", "ack_wait")


class NatsSource(msgspec.Struct, frozen=True, kw_only=True):
    servers: tuple[str, ...]
    stream: str
    consumer: str
    subject: str | None = None
    dead_letter: str = "falco-response.dead"
    max_deliver: int = 5
    ack_wait: float = 30.0
    tls: bool = False

    @property
    def url(self) -> str:
        """For logs: servers and names, no secrets (there are none in the URL)."""
        return f"{','.join(self.servers)}?stream={self.stream}&consumer={self.consumer}"


def is_nats_url(text: str) -> bool:
    return text.split("://", 1)[0].lower() in ("nats", "tls")


def parse_nats_url(url: str) -> NatsSource:
    """A ``nats://`` URL to a :class:`NatsSource`; ``ValueError`` says what is wrong."""
    from urllib.parse import parse_qs

    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in ("nats", "tls"):
        raise ValueError("a NATS source is nats://host:4222?stream=S&consumer=C (or tls://)")
    hosts, _, query_text = rest.partition("?")
    hosts = hosts.rstrip("/")
    if "@" in hosts:
        raise ValueError("credentials do not go in the URL: set "
                         f"{ENV['token']}, {ENV['creds']}, {ENV['nkey_seed']} or "
                         f"{ENV['user']}/{ENV['password']}")
    if not hosts or any(not h for h in hosts.split(",")):
        raise ValueError("names no server: nats://host:4222?stream=S&consumer=C")
    for host in hosts.split(","):
        port = host.rpartition(":")[2] if ":" in host else "4222"
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"bad port in {host!r}")
    query = {k: v[-1] for k, v in parse_qs(query_text, keep_blank_values=True).items()}
    unknown = set(query) - set(OPTIONS)
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(OPTIONS)})")
    for name in ("stream", "consumer"):
        if not query.get(name):
            raise ValueError(f"the URL needs ?{name}=...")
    for name in ("stream", "consumer"):
        if any(c in query[name] for c in " .*>\t"):
            raise ValueError(f"{name} {query[name]!r}: no spaces, dots, * or >")
    try:
        max_deliver = int(query.get("max_deliver", "5"))
        ack_wait = float(query.get("ack_wait", "30"))
    except ValueError:
        raise ValueError("max_deliver is a whole number and ack_wait seconds") from None
    if not 1 <= max_deliver <= 1000:
        raise ValueError("max_deliver must be 1..1000")
    if not 1 <= ack_wait <= 3600:
        raise ValueError("ack_wait must be 1..3600 seconds")
    servers = tuple(f"{scheme}://{h}" for h in hosts.split(","))
    return NatsSource(servers=servers, stream=query["stream"], consumer=query["consumer"],
                      subject=query.get("subject") or None,
                      dead_letter=query.get("dead_letter") or "falco-response.dead",
                      max_deliver=max_deliver, ack_wait=ack_wait, tls=scheme == "tls")


def connect_options(source: NatsSource, env: Any = None) -> dict[str, Any]:
    """``nats.connect`` keyword arguments: credentials and TLS from the environment."""
    environ: Any = os.environ if env is None else env

    def get(key: str) -> str | None:
        value = environ.get(ENV[key])
        return str(value) if value else None

    options: dict[str, Any] = {}
    if get("token"):
        options["token"] = get("token")
    if get("user"):
        options["user"] = get("user")
        options["password"] = get("password") or ""
    if get("creds"):
        options["user_credentials"] = get("creds")
    if get("nkey_seed"):
        options["nkeys_seed"] = get("nkey_seed")
    if source.tls or get("ca_file") or get("cert_file"):
        import ssl

        context = ssl.create_default_context(cafile=get("ca_file"))
        cert = get("cert_file")
        if cert:
            context.load_cert_chain(cert, get("key_file"))
        options["tls"] = context
    return options
