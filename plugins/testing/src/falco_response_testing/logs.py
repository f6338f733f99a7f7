"""Log capture for a plugin's tests: structlog events and every stdlib record, and a check
that no secret reached any of them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import pytest


class Logs:
    """structlog events and every stdlib record (DEBUG and up: HTTP clients, urllib3...) on
    the sending side; the test receiver's own access log (werkzeug) is left out."""

    def __init__(self, events: list[Any], caplog: pytest.LogCaptureFixture) -> None:
        self.events = events
        self.caplog = caplog

    def text(self) -> str:
        stdlib = [f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in self.caplog.records
                  if not r.name.startswith("werkzeug")]
        return "\n".join([repr(e) for e in self.events] + stdlib)

    def assert_no_secret(self, *secrets: str, also: Iterable[str] = ()) -> None:
        """Fail, naming the secret, when any of ``secrets`` appears in the logs or in the
        ``also`` texts (outcome reasons, error messages)."""
        texts = [self.text(), *also]
        for secret in secrets:
            if not secret:
                raise ValueError("an empty secret matches everything")
            for text in texts:
                if secret in text:
                    pytest.fail(f"secret {secret[:4]}... leaked: "
                                f"{text[max(0, text.index(secret) - 80):][:200]!r}")


def everything(results: Sequence[Any], logs: Logs) -> str:
    """Every text a secret could leak into: the results as JSON and as repr, and the logs."""
    return "\n".join([json.dumps([r.to_dict() for r in results]), repr(results), logs.text()])
