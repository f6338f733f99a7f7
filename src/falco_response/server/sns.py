"""Amazon SNS HTTP(S) subscriptions: signature verification and subscription confirmation.

SNS signs every message with a certificate it serves from ``https://sns.<region>.amazonaws.com``
(``SigningCertURL``). We fetch the certificate only from such a host, over verified TLS, and
cache it; SignatureVersion 1 is RSA-SHA1, 2 is RSA-SHA256, over the fields AWS documents,
each as ``name\\nvalue\\n``. Signature checks alone would let anyone's topic subscribe us, so
only topics in an allow-list are confirmed or accepted.

Tests inject their own CA (``ssl_context``) and where the host resolves (``connect``), so the
URL rules stay exactly those of production.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SNS_HOST = re.compile(r"sns\.[a-z]{2}(-[a-z]+)+-\d\.amazonaws\.com(\.cn)?")
_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                 "TopicArn", "Type"),
}
_FIELDS["UnsubscribeConfirmation"] = _FIELDS["SubscriptionConfirmation"]
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
_MAX_CERT = 64 * 1024


class SnsError(Exception):
    """The message cannot be trusted or used; the text says why (safe to return)."""


def check_sns_url(url: Any, what: str) -> tuple[str, str]:
    """(host, path) of an https URL on an SNS host, or SnsError."""
    if not isinstance(url, str):
        raise SnsError(f"{what} is missing")
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "https" or not SNS_HOST.fullmatch(host) or parts.port not in (None, 443) \
            or parts.username or parts.password:
        raise SnsError(f"{what} is not an https://sns.<region>.amazonaws.com/ URL")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return host, path


Connect = Callable[[str], socket.socket]


class SnsClient:
    """Fetches signing certificates (cached) and subscription-confirmation URLs over TLS."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None, *,
                 connect: Connect | None = None, timeout: float = 10.0) -> None:
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.connect = connect or (lambda host: socket.create_connection((host, 443), timeout))
        self.timeout = timeout
        self._certs: dict[str, rsa.RSAPublicKey] = {}
        self._lock = threading.Lock()

    def get(self, url: str, what: str, limit: int = _MAX_CERT) -> bytes:
        host, path = check_sns_url(url, what)
        raw = self.connect(host)
        raw.settimeout(self.timeout)
        conn = http.client.HTTPSConnection(host, timeout=self.timeout, context=self.ssl_context)
        try:
            conn.sock = self.ssl_context.wrap_socket(raw, server_hostname=host)
            conn.request("GET", path, headers={"User-Agent": "falco-response"})
            reply = conn.getresponse()
            body = reply.read(limit + 1)
        except (OSError, http.client.HTTPException) as exc:
            raise SnsError(f"could not fetch the {what}: {type(exc).__name__}") from None
        finally:
            conn.close()
        if reply.status != 200:
            raise SnsError(f"fetching the {what} answered HTTP {reply.status}")
        if len(body) > limit:
            raise SnsError(f"the {what} is too large")
        return body

    def public_key(self, url: str) -> rsa.RSAPublicKey:
        with self._lock:
            key = self._certs.get(url)
        if key is not None:
            return key
        pem = self.get(url, "SigningCertURL")
        try:
            cert = x509.load_pem_x509_certificate(pem)
        except ValueError:
            raise SnsError("the signing certificate is not a PEM certificate") from None
        found = cert.public_key()
        if not isinstance(found, rsa.RSAPublicKey):
            raise SnsError("the signing certificate has no RSA key")
        with self._lock:
            if len(self._certs) > 64:
                self._certs.clear()
            self._certs[url] = found
        return found


def string_to_sign(message: dict[str, Any]) -> bytes:
    kind = message.get("Type")
    fields = _FIELDS.get(kind) if isinstance(kind, str) else None
    if fields is None:
        raise SnsError("unknown SNS message Type")
    parts = []
    for name in fields:
        value = message.get(name)
        if value is None and name == "Subject":
            continue
        if not isinstance(value, str):
            raise SnsError(f"SNS message has no {name}")
        parts.append(f"{name}\n{value}\n")
    return "".join(parts).encode("utf-8")


class SnsVerifier:
    """Verifies SNS messages from the allowed topics; confirms their subscriptions."""

    def __init__(self, topics: Iterable[str], client: SnsClient | None = None) -> None:
        self.topics = frozenset(topics)
        self.client = client or SnsClient()

    def verify(self, message: dict[str, Any]) -> None:
        """Raise SnsError unless ``message`` is signed by SNS for an allowed topic."""
        if message.get("TopicArn") not in self.topics:
            raise SnsError("topic not allowed")
        version = message.get("SignatureVersion")
        algorithm = _HASHES.get(version) if isinstance(version, str) else None
        if algorithm is None:
            raise SnsError("unsupported SignatureVersion")
        try:
            signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
        except binascii.Error:
            raise SnsError("Signature is not base64") from None
        data = string_to_sign(message)
        key = self.client.public_key(message.get("SigningCertURL"))  # type: ignore[arg-type]
        try:
            key.verify(signature, data, padding.PKCS1v15(), algorithm())
        except InvalidSignature:
            raise SnsError("signature does not verify") from None

    def confirm(self, message: dict[str, Any]) -> None:
        """Visit ``SubscribeURL`` (after :meth:`verify`) to confirm the subscription."""
        self.client.get(message.get("SubscribeURL"), "SubscribeURL")  # type: ignore[arg-type]
