"""The ``webhook`` action type's parameters, validated once at config load.

The URL, the bearer token, the signing secret and header values may all be secrets (a token
in a query string, an API key header): error messages name the parameter, never its value.
"""

from __future__ import annotations

import os
import re
from typing import Union
from urllib.parse import urlsplit

import msgspec

from .signing import SIGNATURE_HEADER, TIMESTAMP_HEADER

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_BAD_VALUE = re.compile(r"[\r\n\x00]")
RESERVED = {"content-type", "content-length", "host", "transfer-encoding", "connection"}
SECRET_MIN = 16


class WebhookParams(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``with:`` of a ``webhook`` action."""

    url: str
    headers: dict[str, str] = {}
    bearer_token: Union[str, None] = None
    secret: Union[str, None] = None
    signature_header: str = SIGNATURE_HEADER
    timestamp_header: str = TIMESTAMP_HEADER
    timeout: float = 10.0
    max_attempts: int = 4
    retry_wait: float = 0.5
    ca_bundle: Union[str, None] = None
    allow_http: bool = False


def validate(params: WebhookParams) -> str:
    """Raise ``ValueError`` for bad settings; return the target name (``webhook:host``)."""
    parts = urlsplit(params.url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise ValueError("url must be an https:// URL")
    if parts.scheme == "http" and not params.allow_http:
        raise ValueError("url is plain http: use https, or set allow_http: true for a "
                         "receiver on a trusted network")
    if parts.username or parts.password:
        raise ValueError("url must not carry credentials; use bearer_token or headers")
    names = {n.lower() for n in params.headers}
    for name, value in params.headers.items():
        if not _TOKEN.fullmatch(name):
            raise ValueError(f"headers: {name[:60]!r} is not a valid header name")
        if _BAD_VALUE.search(value):
            raise ValueError(f"headers: the value of {name} contains a line break or NUL")
    for name in (params.signature_header, params.timestamp_header):
        if not _TOKEN.fullmatch(name):
            raise ValueError(f"{name[:60]!r} is not a valid header name")
    taken = RESERVED | {params.signature_header.lower(), params.timestamp_header.lower()}
    clash = sorted(names & taken)
    if clash:
        raise ValueError(f"headers: {', '.join(clash)} is set by the action itself")
    if params.bearer_token is not None:
        if not params.bearer_token.strip() or _BAD_VALUE.search(params.bearer_token):
            raise ValueError("bearer_token is empty or contains a line break")
        if "authorization" in names:
            raise ValueError("set bearer_token or an Authorization header, not both")
    if params.secret is not None and len(params.secret) < SECRET_MIN:
        raise ValueError(f"secret must be at least {SECRET_MIN} characters")
    if params.signature_header.lower() == params.timestamp_header.lower():
        raise ValueError("signature_header and timestamp_header must differ")
    if not 0 < params.timeout <= 300:
        raise ValueError("timeout must be between 0 and 300 seconds")
    if not 1 <= params.max_attempts <= 20:
        raise ValueError("max_attempts must be between 1 and 20")
    if not 0 <= params.retry_wait <= 60:
        raise ValueError("retry_wait must be between 0 and 60 seconds")
    if params.ca_bundle is not None and not os.path.isfile(params.ca_bundle):
        raise ValueError(f"ca_bundle {params.ca_bundle!r} is not a file")
    port = f":{parts.port}" if parts.port else ""
    return f"webhook:{parts.hostname}{port}"
