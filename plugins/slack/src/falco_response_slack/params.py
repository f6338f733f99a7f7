"""The ``slack`` action type's parameters, validated once at config load.

Error messages name the parameter, never its value: the webhook URL and the token are
secrets, and config errors are printed and logged.
"""

from __future__ import annotations

import os
import re
from typing import Union
from urllib.parse import urlsplit

import msgspec
from falco_response import Priority

# Operator-written mentions only: special mentions, users, user groups, space separated.
_ONE_MENTION = r"(<!(here|channel|everyone)>|<@[UW][A-Z0-9]+>|<!subteam\^[A-Z0-9]+(\|[^<>&|]+)?>)"
_MENTION = re.compile(rf"{_ONE_MENTION}( {_ONE_MENTION})*")


class SlackParams(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``with:`` of a ``slack`` action.

    Either ``webhook_url`` (an incoming webhook) or ``token`` + ``channel``
    (``chat.postMessage`` with a bot token).
    """

    webhook_url: Union[str, None] = None
    token: Union[str, None] = None
    channel: Union[str, None] = None
    api_url: str = "https://slack.com/api/"
    mention: Union[str, None] = None
    mention_min_priority: str = "critical"
    timeout: float = 10.0
    max_retries: int = 3
    ca_bundle: Union[str, None] = None


def _require_https(url: str, name: str) -> None:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"{name} must be an https:// URL")


def validate(params: SlackParams) -> Priority:
    """Raise ``ValueError`` for bad settings; return the mention threshold."""
    if (params.webhook_url is None) == (params.token is None):
        raise ValueError("set exactly one of webhook_url or token (with channel)")
    if params.webhook_url is not None:
        _require_https(params.webhook_url, "webhook_url")
        if params.channel is not None:
            raise ValueError("channel applies to token mode only (a webhook posts to its own "
                             "channel)")
    else:
        if not (params.token or "").strip():
            raise ValueError("token is empty")
        if not (params.channel or "").strip():
            raise ValueError("token mode needs a channel (an id like C0123456789 or #name)")
        _require_https(params.api_url, "api_url")
    if params.mention is not None and not _MENTION.fullmatch(params.mention):
        raise ValueError("mention must be Slack mention syntax, e.g. <!here>, <!channel>, "
                         "<@U0123ABCD> or <!subteam^S0123ABCD>, space separated")
    try:
        threshold = Priority.parse(params.mention_min_priority)
    except ValueError as exc:
        raise ValueError(f"mention_min_priority: {exc}") from None
    if not 0 < params.timeout <= 300:
        raise ValueError("timeout must be between 0 and 300 seconds")
    if not 0 <= params.max_retries <= 10:
        raise ValueError("max_retries must be between 0 and 10")
    if params.ca_bundle is not None and not os.path.isfile(params.ca_bundle):
        raise ValueError(f"ca_bundle {params.ca_bundle!r} is not a file")
    return threshold
