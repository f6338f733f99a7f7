"""Keeping a plugin's own secrets out of what it reports.

A notifier's secrets (a webhook URL, whose path *is* the credential, a bot token, a routing
key, an HMAC secret, an API key header) are what it sends; a far end can send them straight
back, in a 404 body that quotes the URL or an error that repeats the token, and an exception
from an HTTP stack may quote the URL. Anything of that kind that goes into an outcome, a log
line or an error message goes through a :class:`Redactor` first, built once per configured
action from that action's secrets::

    from falco_response import Redactor

    redact = Redactor(secrets=[params.token], urls=[params.webhook_url])
    reason = redact(f"Slack answered HTTP 404: {body}")
    reason = redact.exception(exc)        # "ConnectionError: ... [redacted] ..."

Redact first, then cut or sanitise: a secret cut in half by ``text[:300]`` or with its
slashes stripped no longer matches.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

__all__ = ["REDACTED", "Redactor", "quiet_transport_logs"]

REDACTED = "[redacted]"
MIN_LENGTH = 4            # shorter values would blank out ordinary words
SEGMENT_LENGTH = 8        # a path segment this long with a digit in it is an id or a key


def _encodings(value: str) -> set[str]:
    """The value as a far end may write it back: raw, URL-encoded, JSON-escaped, HTML-escaped."""
    json_form = json.dumps(value)[1:-1]
    return {value, quote(value), quote(value, safe=""), quote_plus(value), json_form,
            json_form.replace("/", "\\/"), html.escape(value)}


def _url_parts(url: str) -> set[str]:
    """A URL's secret parts: itself without its scheme, its path and query, its query values,
    and the path segments that look like ids or keys (``T0/B0/XXXX`` in a Slack webhook)."""
    parts = urlsplit(url)
    found = {url, url.split("://", 1)[-1]}
    path_query = parts.path + (f"?{parts.query}" if parts.query else "")
    if parts.path not in ("", "/"):
        found.update({path_query, parts.path})
        inner = parts.path.strip("/")
        if "/" in inner:
            found.add(inner)
    if parts.query:
        found.add(parts.query)
        found.update(value for _, value in parse_qsl(parts.query, keep_blank_values=True))
    if parts.password:
        found.add(parts.password)
    for segment in parts.path.split("/"):
        if len(segment) >= SEGMENT_LENGTH * 2 or (
                len(segment) >= SEGMENT_LENGTH and any(c.isdigit() for c in segment)):
            found.add(segment)
    return found


class Redactor:
    """Replaces every configured secret, in the forms a far end may echo, with ``[redacted]``.

    ``secrets`` are opaque values (tokens, keys, header values); ``urls`` are URLs that are
    secret as a whole and in their parts. ``None`` and values shorter than 4 characters are
    ignored. Matching ignores case (percent-encoding may come back as ``%2f`` or ``%2F``).
    """

    def __init__(self, secrets: Iterable[str | None] = (),
                 urls: Iterable[str | None] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret:
                forms.update(_encodings(secret))
        for url in urls:
            if url:
                for part in _url_parts(url):
                    forms.update(_encodings(part))
        kept = sorted((f for f in forms if len(f) >= MIN_LENGTH), key=lambda f: (-len(f), f))
        # longest first: the whole URL goes before its path, so no half of it is left
        self._pattern = (re.compile("|".join(map(re.escape, kept)), re.IGNORECASE)
                         if kept else None)

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __call__(self, text: object) -> str:
        """``text`` (any object, as ``str()``) with the secrets replaced."""
        text = str(text)
        if self._pattern is None:
            return text
        return self._pattern.sub(REDACTED, text)

    def exception(self, exc: BaseException) -> str:
        """``"TypeName: message"`` with the secrets replaced (the message may quote a URL)."""
        return self(f"{type(exc).__name__}: {exc}")

    def data(self, value: Any) -> Any:
        """A copy of JSON-like data (an outcome's ``detail``) with every string redacted."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {self(k) if isinstance(k, str) else k: self.data(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.data(v) for v in value]
        return value


def quiet_transport_logs(*names: str) -> None:
    """Raise these stdlib loggers (an HTTP stack's: ``httpx``, ``httpcore``, ``urllib3``) to
    WARNING. They log response headers at debug and the status line at info, both written by
    the far end, so a key it echoes there would reach the logs unredacted."""
    for name in names:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)
