"""Engine throughput and matching at scale, every figure with its goal, in one run.

    python bench/run.py [--alerts 20000] [--rounds 5]

Each case is timed in CPU seconds of this process (on a shared machine wall time counts
other processes too) over the same realistic alert stream (``mixed.py``), once per round,
the cases alternating within a round; the figure is the median over the rounds. Ratios
are of medians of the same run. Figures:

- ``Engine.handle`` with the generated mixed config of 10, 1,000 and 10,000 responses
  (logs at WARNING), one no-op action per matched response;
- the same at INFO (every outcome logged as JSON, to /dev/null) against WARNING;
- ``Engine.handle`` at WARNING against ``json.loads`` of the same payloads;
- loading the 10,000-response config from its YAML file (parse, validate, compile, index);
- a storm (one pod, one rule, the alert repeated with a new time and pid) with a
  ``cooldown`` on (memory store: all but the first are suppressed) against the same storm
  with no cooldown.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "src"))
sys.path.insert(0, str(BENCH))

import yaml  # noqa: E402

import mixed  # noqa: E402
from falco_response import Engine, hookimpl  # noqa: E402
from falco_response.logs import make_logger  # noqa: E402


class Noop:
    """``noop`` never waits on I/O (``blocking=False``): the engine calls it inline."""

    @hookimpl
    def register_actions(self, register: Any) -> None:
        register("noop", lambda params: lambda ctx: ctx.ok(reason="nothing done"),
                 blocking=False)


def storm_alerts(count: int) -> list[bytes]:
    base = json.loads(mixed.alerts(1, seed=3)[0])
    base["rule"], base["priority"] = "Terminal shell in container", "Notice"
    out = []
    for i in range(count):
        alert = {**base, "time": "2026-12-01T20:00:00.%09dZ" % i,
                 "output_fields": {**base["output_fields"], "proc.pid": 4000 + i}}
        out.append(json.dumps(alert).encode())
    return out


def storm_config(cooldown: bool) -> dict[str, Any]:
    response: dict[str, Any] = {"name": "shells", "match": {"rule": "Terminal shell *"},
                                "actions": [{"type": "noop"}]}
    if cooldown:
        response["cooldown"] = "10m"
    return {"version": 1, "responses": [response]}


def cpu_rate(fn: Callable[[bytes], Any], payloads: list[bytes]) -> float:
    start = time.process_time()
    for p in payloads:
        fn(p)
    return len(payloads) / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    devnull = open(os.devnull, "w")  # noqa: SIM115
    quiet, chatty = make_logger("warning", devnull), make_logger("info", devnull)
    payloads = mixed.alerts(args.alerts)
    storm = storm_alerts(args.alerts)

    def engine(config: Any, logger: Any = quiet) -> Engine:
        return Engine.from_config(config, plugins=[Noop()], entry_points=False, logger=logger)

    engines = {n: engine(mixed.config(n)) for n in (10, 1000, 10_000)}
    info = engine(mixed.config(10), chatty)
    matched = {n: sum(len(r.outcomes) for p in payloads for r in e.handle(p)) / len(payloads)
               for n, e in engines.items()}  # also warms every engine's memory of alert keys
    for p in payloads:
        info.handle(p)
    folder = tempfile.mkdtemp(prefix="falco-response-bench-")
    big = Path(folder, "mixed-10000.yaml")
    big.write_text(yaml.safe_dump(mixed.config(10_000), sort_keys=False))

    cases: dict[str, Callable[[], float]] = {
        "json.loads": lambda: cpu_rate(json.loads, payloads),
        "mixed 10": lambda: cpu_rate(engines[10].handle, payloads),
        "mixed 1,000": lambda: cpu_rate(engines[1000].handle, payloads),
        "mixed 10,000": lambda: cpu_rate(engines[10_000].handle, payloads),
        "mixed 10 at INFO": lambda: cpu_rate(info.handle, payloads),
    }
    storms: dict[str, Engine] = {}
    for name, on in (("storm, no cooldown", False), ("storm, cooldown", True)):
        storms[name] = engine(storm_config(on))
        storms[name].handle(storm[0])
        cases[name] = (lambda e: lambda: cpu_rate(e.handle, storm))(storms[name])
    results: dict[str, list[float]] = {name: [] for name in cases}
    loads: list[float] = []
    gc.collect()
    gc.freeze()  # as the long-running entry points do: config objects live forever
    for _ in range(args.rounds):
        for name, case in cases.items():
            results[name].append(case())
    for _ in range(args.rounds):  # after the rates: each load leaves garbage to collect
        start = time.process_time()
        Engine.from_config(big, plugins=[Noop()], entry_points=False, logger=quiet)
        loads.append(time.process_time() - start)
        gc.collect()
    (last,) = storms["storm, cooldown"].handle(storm[-1])
    assert last.outcomes[0].detail.get("cooldown"), last.outcomes  # the storm was suppressed

    med = {name: statistics.median(values) for name, values in results.items()}
    print(f"{args.alerts:,} alerts, median of {args.rounds} alternating rounds, one thread, "
          f"CPU time, Python {sys.version.split()[0]}")
    width = max(len(n) for n in med)
    for name, value in med.items():
        spread = f"{min(results[name]):,.0f}-{max(results[name]):,.0f}"
        note = f"  {matched[int(name.split()[1].replace(',', ''))]:.2f} outcomes/alert" \
            if name.startswith("mixed") and "INFO" not in name else ""
        print(f"  {name:<{width}}  {value:>10,.0f} alerts/s  (rounds {spread}){note}")
    load = statistics.median(loads)
    print(f"  {'load 10,000 responses':<{width}}  {load:>10.2f} s  "
          f"(rounds {min(loads):.2f}-{max(loads):.2f})")
    goals = [
        ("mixed 1,000 / mixed 10", med["mixed 1,000"] / med["mixed 10"], ">=", 2 / 3),
        ("mixed 10,000 / mixed 10", med["mixed 10,000"] / med["mixed 10"], ">=", 0.5),
        ("config load, 10,000 responses (s)", load, "<", 2.0),
        ("WARNING / json.loads", med["mixed 10"] / med["json.loads"], ">=", 0.45),
        ("INFO / WARNING", med["mixed 10 at INFO"] / med["mixed 10"], ">=", 0.75),
        ("storm with cooldown / without", med["storm, cooldown"] / med["storm, no cooldown"],
         ">=", 0.5),
    ]
    print("goals:")
    width = max(len(g[0]) for g in goals)
    for name, value, op, goal in goals:
        met = value >= goal if op == ">=" else value < goal
        print(f"  {name:<{width}}  {value:6.2f}  (goal {op} {goal:.2f})  "
              f"{'met' if met else 'NOT met'}")
    big.unlink()
    os.rmdir(folder)
    for e in [*engines.values(), info, *storms.values()]:
        e.close()


if __name__ == "__main__":
    main()
