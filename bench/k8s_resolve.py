"""Resolving the pod an alert names, on a kmock emulator with 110 realistic pods per node
(the kubelet's default maximum), three nodes: by name (one GET), by container id cold (one
LIST of the node) and warm (the remembered pod, one GET verified). Medians of alternating
rounds; API calls counted per lookup. Goal (issue 14): a warm lookup makes at most 2 API
calls and costs within 1.5x the by-name path.

    python bench/k8s_resolve.py [--rounds 7] [--lookups 50]

Needs falco-response-kubernetes with its ``test`` extra (kmock, kubernetes).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from falco_response import Settings, alert_from_dict  # noqa: E402
from falco_response_kubernetes.api import Kube  # noqa: E402
from falco_response_kubernetes.connection import Connection  # noqa: E402
from falco_response_testing.kubernetes import (cid, container_alert, KmockCluster, pod_alert,
                                               realistic_pod)  # noqa: E402
from falco_response_kubernetes.params import ClusterParams, ConnectionParams  # noqa: E402
from falco_response_kubernetes.pod_cache import PODS_BY_CONTAINER  # noqa: E402
from falco_response_kubernetes.targets import resolve_pod  # noqa: E402

PODS_PER_NODE = 110
NODES = ["node-a", "node-b", "node-c"]
SETTINGS = Settings(dry_run=False, protected_namespaces=frozenset())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--lookups", type=int, default=50)
    args = parser.parse_args()
    cluster = KmockCluster().start()
    try:
        cluster.add_namespace("default")
        pods: list[tuple[str, str, str]] = []
        for n, node in enumerate(NODES):
            cluster.add_node(node)
            for i in range(PODS_PER_NODE):
                name = f"api-7f9c8d-{n}{i:04d}"
                container = cid(n * 1000 + i)
                cluster.add_pod(realistic_pod("default", name, node, [container, cid(i, node)]))
                pods.append((node, name, container[:12]))
        folder = tempfile.mkdtemp()
        connection = Connection(ConnectionParams(cluster=ClusterParams(
            kubeconfig=cluster.kubeconfig(Path(folder) / "kubeconfig"))))
        api_client = connection.api_client()
        picks = [pods[(k * 37) % len(pods)] for k in range(args.lookups)]
        by_name = [alert_from_dict(pod_alert("default", name, hostname=node))
                   for node, name, _ in picks]
        by_id = [alert_from_dict(container_alert(short, hostname=node))
                 for node, _, short in picks]

        def run(alerts: list[Any], forget: bool) -> tuple[float, float]:
            calls = 0
            start = time.perf_counter()
            for alert in alerts:
                if forget:
                    PODS_BY_CONTAINER.clear()
                kube = Kube(api_client, 5.0, time.monotonic() + 10)
                resolved = resolve_pod(kube, alert, SETTINGS)
                assert resolved.pod is not None
                calls += kube.calls
            return (time.perf_counter() - start) * 1000 / len(alerts), calls / len(alerts)

        cases = {"by name (GET)": lambda: run(by_name, False),
                 "by container id, cold (LIST of the node)": lambda: run(by_id, True),
                 "by container id, warm (remembered, GET)": lambda: run(by_id, False)}
        run(by_id, False)  # warm the memory (and the client's connection pool)
        times: dict[str, list[float]] = {name: [] for name in cases}
        calls: dict[str, float] = {}
        for _ in range(args.rounds):
            for name, case in cases.items():
                ms, per = case()
                times[name].append(ms)
                calls[name] = per
                if "cold" in name:
                    run(by_id, False)  # the warm case starts from a full memory
        print(f"{len(NODES)} nodes x {PODS_PER_NODE} pods, {args.lookups} lookups per case, "
              f"median of {args.rounds} alternating rounds (wall clock)")
        med = {name: statistics.median(v) for name, v in times.items()}
        width = max(map(len, med))
        for name, value in med.items():
            print(f"  {name:<{width}}  {value:7.2f} ms/lookup  {calls[name]:.1f} API calls "
                  f"(rounds {min(times[name]):.2f}-{max(times[name]):.2f})")
        warm, named = med["by container id, warm (remembered, GET)"], med["by name (GET)"]
        ok_calls = calls["by container id, warm (remembered, GET)"] <= 2
        print(f"goals: warm API calls {calls['by container id, warm (remembered, GET)']:.1f} "
              f"(<= 2: {'met' if ok_calls else 'NOT met'}); warm / by name {warm / named:.2f} "
              f"(<= 1.50: {'met' if warm / named <= 1.5 else 'NOT met'}); "
              f"cold / by name {med['by container id, cold (LIST of the node)'] / named:.2f}")
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
