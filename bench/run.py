"""Engine throughput: alerts/s through ``Engine.handle`` (bytes in, outcomes out, one no-op
action per alert) with 10 and 1,000 responses, logs at INFO (to /dev/null) and at WARNING,
beside bare ``json.loads`` / ``orjson.loads`` of the same alerts, all in one run.

    python bench/run.py [--alerts 100000] [--repeat 3]

Targets (DESIGN.md): >= 50,000 alerts/s at WARNING, >= 20,000 at INFO, and the 1,000-response
rate at least 2/3 of the 10-response rate.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from falco_response import Engine, hookimpl  # noqa: E402
from falco_response.logs import configure_logging  # noqa: E402

try:
    import orjson
except ImportError:  # the bench env installs it; elsewhere the column is left out
    orjson = None

SAMPLE = json.loads((ROOT.parent / "shared" / "samples" / "falco-syscall-terminal-shell.json")
                    .read_text())
RULES = [f"Falco rule number {i}" for i in range(10)]


class Noop:
    """``noop`` declares ``blocking=False`` (it never waits on I/O), so the engine calls it
    inline; ``noop-threaded`` is the same action run the way I/O-bound plugin actions are, in
    a worker thread with a timeout, to show what that hand-off costs."""

    @hookimpl
    def register_actions(self, register: Any) -> None:
        register("noop", lambda params: lambda ctx: ctx.ok(reason="nothing done"),
                 blocking=False)
        register("noop-threaded", lambda params: lambda ctx: ctx.ok(reason="nothing done"))


def alerts(count: int) -> list[bytes]:
    out = []
    for i in range(count):
        alert = dict(SAMPLE)
        alert["rule"] = RULES[i % len(RULES)]
        alert["output_fields"] = {**SAMPLE["output_fields"], "proc.pid": 1000 + i}
        out.append(json.dumps(alert).encode())
    return out


def config(responses: int, action: str = "noop") -> dict[str, Any]:
    entries = [{"name": f"r-{rule}", "match": {"rule": rule, "priority": ">=warning"},
                "actions": [{"type": action}]} for rule in RULES]
    entries += [{"name": f"other-{i}", "match": {"rule": f"Some other rule {i}"},
                 "actions": [{"type": "noop"}]} for i in range(responses - len(entries))]
    return {"version": 1, "responses": entries}


def rate(fn: Callable[[bytes], Any], payloads: list[bytes], repeat: int) -> float:
    """Alerts per CPU-second of this process (best of ``repeat``): on a shared machine,
    wall time also counts other processes; CPU time is what "on one core" means."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for p in payloads:
            fn(p)
        best = min(best, time.process_time() - start)
    return len(payloads) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    payloads = alerts(args.alerts)
    devnull = open(os.devnull, "w")  # noqa: SIM115

    print(f"{args.alerts} alerts, best of {args.repeat}, one thread, CPU time, "
          f"Python {sys.version.split()[0]}")
    rows: list[tuple[str, float]] = [("json.loads", rate(json.loads, payloads, args.repeat))]
    if orjson is not None:
        rows.append(("orjson.loads", rate(orjson.loads, payloads, args.repeat)))
    results: dict[tuple[str, int], float] = {}
    for level in ("warning", "info"):
        configure_logging(level, stream=devnull)
        for count in (10, 1000):
            engine = Engine.from_config(config(count), plugins=[Noop()], entry_points=False)
            gc.collect()
            gc.freeze()  # as the long-running entry points do: config objects live forever
            (check,) = engine.handle(payloads[0])
            assert [o.status.value for o in check.outcomes] == ["ok"], check
            results[(level, count)] = rate(engine.handle, payloads, args.repeat)
            rows.append((f"Engine.handle, {count} responses, logs at {level.upper()}",
                         results[(level, count)]))
    configure_logging("warning", stream=devnull)
    threaded = Engine.from_config(config(10, "noop-threaded"), plugins=[Noop()],
                                  entry_points=False)
    wall = time.perf_counter()
    cpu = rate(threaded.handle, payloads, 1)
    wall_rate = len(payloads) / (time.perf_counter() - wall)
    rows.append(("(same, the action in a worker thread; CPU of all threads)", cpu))
    rows.append(("(same, the action in a worker thread; wall clock)", wall_rate))
    threaded.close()
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value:>12,.0f} alerts/s")
    print("ratios:")
    for level in ("warning", "info"):
        ratio = results[(level, 1000)] / results[(level, 10)]
        print(f"  {level.upper():<8} 1,000 / 10 responses = {ratio:.2f} (target >= 0.67)")
    print(f"  WARNING, 10 responses / json.loads = {results[('warning', 10)] / rows[0][1]:.2f}")
    print("targets:")
    print(f"  WARNING >= 50,000/s: {'met' if results[('warning', 10)] >= 50_000 else 'NOT met'}")
    print(f"  INFO    >= 20,000/s: {'met' if results[('info', 10)] >= 20_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
