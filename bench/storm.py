"""Alert storms and a soak through the engine, with cooldowns and a blast-radius limit on.

    python bench/storm.py [--storm 100000] [--soak 1000000] [--store memory://]

1. Storm: N identical alerts for one pod. Expected: exactly one delete, one Slack message and
   one PagerDuty incident; the rest suppressed (and counted).
2. Soak: M mixed alerts (every rule of Falco's stable rule set, 2,000 pods on 40 nodes, every
   priority). The exact expected number of each action is computed independently from the
   generated alerts and compared.

Prints alerts/s, actions taken against the expected counts, peak RSS, and RSS growth after
warm-up (target: under 20 MB).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


from falco_response import Engine, hookimpl  # noqa: E402
from falco_response.logs import configure_logging  # noqa: E402

TAKEN: Counter[str] = Counter()


class Actions:
    """No-op stand-ins for delete-pod, slack and pagerduty that count what they did."""

    @hookimpl
    def register_actions(self, register: Any) -> None:
        for name, destructive in (("delete", True), ("notify", False), ("page", False)):
            register(name, self._make(name), destructive=destructive, blocking=False)

    @staticmethod
    def _make(name: str) -> Any:
        def factory(params: Any) -> Any:
            def run(ctx: Any) -> Any:
                TAKEN[name] += 1
                return ctx.ok(reason=name)
            return run
        return factory


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def engine(store: str, limit: int) -> Engine:
    config = {"version": 1, "settings": {
        "store": store, "limits": {"destructive": {"max": limit, "per": "10m"}},
        "audit": {"retention": "1h"}},
        "responses": [
            {"name": "contain", "match": {"priority": ">=critical"}, "cooldown": "10m",
             "actions": [{"type": "delete"}, {"type": "notify"}, {"type": "page"}]},
            {"name": "watch", "match": {"priority": "warning", "tags": {"any": ["container"]}},
             "actions": [{"type": "notify"}]},
        ]}
    return Engine.from_config(config, plugins=[Actions()], entry_points=False)


def storm(count: int, store: str) -> None:
    TAKEN.clear()
    e = engine(store, 5)
    alert = json.dumps(json.loads((ROOT / "tests" / "data" / "samples" /
                                   "falco-syscall-terminal-shell.json").read_text())).encode()
    start = time.process_time()
    for _ in range(count):
        e.handle(alert)
    elapsed = time.process_time() - start
    (last,) = e.handle(alert)
    expected = {"delete": 1, "notify": 1, "page": 1}
    print(f"storm: {count:,} identical alerts, {count / elapsed:,.0f} alerts/s (CPU)")
    print(f"  actions taken {dict(TAKEN)}, expected {expected}: "
          f"{'exact' if dict(TAKEN) == expected else 'MISMATCH'}")
    print(f"  last outcome: {last.outcomes[0].reason}")
    e.close()


def soak_alerts(count: int) -> Any:
    rules = json.loads((ROOT / "tests" / "data" / "falco-stable-rules.json").read_text())["rules"]
    priorities = ["Emergency", "Alert", "Critical", "Error", "Warning", "Notice",
                  "Informational", "Debug"]
    for i in range(count):
        rule = rules[i % len(rules)]
        pod = (i * 7919) % 2000
        yield {
            "time": f"2026-11-26T20:{(i // 60000) % 60:02d}:{(i // 1000) % 60:02d}.{i % 1000:03d}000000Z",
            "rule": rule["rule"], "priority": priorities[(i // len(rules)) % 8],
            "output": f"{rule['rule']} (pod=pod-{pod})", "source": "syscall",
            "tags": rule.get("tags", []), "hostname": f"node-{pod % 40}",
            "output_fields": {"k8s.ns.name": "ns-" + str(pod % 25), "k8s.pod.name": f"pod-{pod}",
                              "container.id": f"{pod:012x}", "proc.name": "sh",
                              "evt.num": i},
        }


def expected_counts(alerts: Any, limit: int) -> dict[str, int]:
    keys: set[tuple[str, str, str]] = set()
    watch = 0
    for a in alerts:
        severe = a["priority"] in ("Emergency", "Alert", "Critical")
        if severe:
            keys.add((a["rule"], a["output_fields"]["k8s.ns.name"],
                      a["output_fields"]["k8s.pod.name"]))
        if a["priority"] == "Warning" and "container" in a["tags"]:
            watch += 1
    return {"delete": min(limit, len(keys)), "notify": len(keys) + watch, "page": len(keys)}


def soak(count: int, store: str) -> None:
    TAKEN.clear()
    limit = 50
    e = engine(store, limit)
    payloads = (json.dumps(a).encode() for a in soak_alerts(count))
    warm = max(count // 10, 1)
    start = time.process_time()
    baseline = 0.0
    for i, payload in enumerate(payloads, start=1):
        e.handle(payload)
        if i == warm:
            gc.collect()
            baseline = rss_mb()
    elapsed = time.process_time() - start
    gc.collect()
    growth = rss_mb() - baseline
    expected = expected_counts(soak_alerts(count), limit)
    print(f"soak: {count:,} mixed alerts, {count / elapsed:,.0f} alerts/s (CPU)")
    print(f"  actions taken {dict(sorted(TAKEN.items()))}, expected "
          f"{dict(sorted(expected.items()))}: "
          f"{'exact' if dict(TAKEN) == expected else 'MISMATCH'}")
    print(f"  RSS after warm-up ({warm:,} alerts) {baseline:.1f} MB, at the end "
          f"{baseline + growth:.1f} MB: growth {growth:+.1f} MB (target < 20 MB)")
    e.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--storm", type=int, default=100_000)
    parser.add_argument("--soak", type=int, default=1_000_000)
    parser.add_argument("--store", default="memory://",
                        help="state store URL (memory://, sqlite:///path)")
    args = parser.parse_args()
    configure_logging("warning", stream=open(os.devnull, "w"))  # noqa: SIM115
    print(f"store {args.store}, Python {sys.version.split()[0]}")
    storm(args.storm, args.store)
    soak(args.soak, args.store)
    print(f"peak RSS {peak_mb():.1f} MB")


if __name__ == "__main__":
    main()
