"""The pagerduty tests' secret and engine; alerts, the TLS receiver and log capture come from
the falco-response-testing kit (its fixtures load through its pytest plugin)."""

from __future__ import annotations

from typing import Any

from falco_response import Engine
from falco_response_testing import ALERT, Logs, alert, engine_with

__all__ = ["ALERT", "ROUTING_KEY", "Logs", "alert", "make_engine"]

ROUTING_KEY = "R0UTINGKEYsecret0123456789abcdef"  # 32 characters, like a real one


def make_engine(with_: dict[str, Any], **options: Any) -> Engine:
    """An engine whose one response runs ``before`` actions then the installed ``pagerduty``
    type."""
    return engine_with("pagerduty", with_, name="page", **options)
