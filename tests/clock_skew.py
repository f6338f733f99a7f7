"""A child process for the clock-skew tests: its wall clock is moved by SKEW seconds before
falco_response is imported, then it handles one alert per pod named on the command line on
the shared store and prints each destructive outcome as JSON.

    python tests/clock_skew.py STORE_URL SKEW_SECONDS POD [POD ...]
"""

from __future__ import annotations

import sys
import time

SKEW = float(sys.argv[2])
_real_time, _real_time_ns = time.time, time.time_ns
time.time = lambda: _real_time() + SKEW  # type: ignore[assignment]
time.time_ns = lambda: _real_time_ns() + int(SKEW * 1e9)  # type: ignore[assignment]

import json  # noqa: E402
from typing import Any  # noqa: E402

from falco_response import Engine, hookimpl  # noqa: E402
from falco_response.logs import configure_logging  # noqa: E402


class Zap:
    @hookimpl
    def register_actions(self, register: Any) -> None:
        register("zap", lambda p: lambda ctx: ctx.ok(
            target=f"pod:payments/{ctx.alert.pod_name}", reason="zapped"),
            destructive=True, blocking=False)


def main() -> None:
    url, pods = sys.argv[1], sys.argv[3:]
    configure_logging("error")
    engine = Engine.from_config({
        "version": 1,
        "settings": {"store": url, "limits": {"destructive": {"max": 3, "per": "10m"}}},
        "responses": [{"name": "contain", "cooldown": "10m", "actions": [{"type": "zap"}]}]},
        plugins=[Zap()], entry_points=False)
    assert abs(time.time() - _real_time() - SKEW) < 1
    for pod in pods:
        (result,) = engine.handle({
            "time": "2026-12-01T20:00:00Z", "rule": "Terminal shell in container",
            "priority": "Critical", "output": "shell", "source": "syscall",
            "hostname": "node-1",
            "output_fields": {"k8s.ns.name": "payments", "k8s.pod.name": pod}})
        (outcome,) = result.outcomes
        print(json.dumps({"pod": pod, "status": outcome.status.value,
                          "reason": outcome.reason}), flush=True)
    engine.close()


if __name__ == "__main__":
    main()
