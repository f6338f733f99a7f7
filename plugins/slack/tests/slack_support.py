"""The slack tests' secrets and engine; alerts, the TLS receiver and log capture come from
the falco-response-testing kit (its fixtures load through its pytest plugin)."""

from __future__ import annotations

from typing import Any

import pytest
from falco_response import Engine
from falco_response_testing import ALERT, Logs, alert, engine_with
from pytest_httpserver import HTTPServer

__all__ = ["ALERT", "TOKEN", "WEBHOOK_SECRET_PART", "Logs", "alert", "make_engine", "webhook_url"]

WEBHOOK_SECRET_PART = "T00000000/B00000000/XXXXwebhookSECRETxxxxxxxx"
TOKEN = "xoxb-111-222-TOKENsecretTOKENsecret"


@pytest.fixture
def webhook_url(receiver: HTTPServer) -> str:
    return receiver.url_for(f"/services/{WEBHOOK_SECRET_PART}")


def make_engine(with_: dict[str, Any], **options: Any) -> Engine:
    """An engine whose one response runs ``before`` actions then the installed ``slack`` type."""
    return engine_with("slack", with_, name="tell-secops", **options)
