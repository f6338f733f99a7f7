"""The webhook tests' secrets and engine; alerts, the TLS receiver and log capture come from
the falco-response-testing kit (its fixtures load through its pytest plugin)."""

from __future__ import annotations

from typing import Any

import pytest
from falco_response import Engine
from falco_response_testing import ALERT, Logs, alert, engine_with
from pytest_httpserver import HTTPServer

__all__ = ["ALERT", "API_KEY", "BEARER", "QUERY_TOKEN", "SECRET", "Logs", "alert", "hook_url",
           "make_engine"]

BEARER = "bearerTOKENsecret-0123456789"
SECRET = "hmacSHAREDsecret-0123456789"
API_KEY = "apiKEYsecret-0123456789"
QUERY_TOKEN = "queryTOKENsecret-0123456789"


@pytest.fixture
def hook_url(receiver: HTTPServer) -> str:
    return receiver.url_for("/falco") + f"?token={QUERY_TOKEN}"


def make_engine(with_: dict[str, Any], **options: Any) -> Engine:
    """An engine whose one response runs ``before`` actions then the installed ``webhook``
    type."""
    return engine_with("webhook", with_, name="forward", **options)
