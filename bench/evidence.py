"""collect-evidence figures (prints them; asserts nothing): collection time and peak RSS for
a pod with 10 containers and 10 MiB of logs each (current instance; previous off), served by a
kmock emulator on 127.0.0.1 in this process, collected by a real Engine in a subprocess (so
its RSS is the collector's alone), to a file sink in a temporary directory.

Run: ``python bench/evidence.py [--containers 10] [--mib 10] [--max-log-mib 10] [--reps 3]``
with falco-response-evidence and the ``test`` extra of falco-response-kubernetes installed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from falco_response_testing.kubernetes import KmockCluster, realistic_pod, set_log

CHILD = """
import json, resource, sys, time
from falco_response import Engine
config, payload = json.loads(sys.argv[1]), json.loads(sys.argv[2])
engine = Engine.from_config(config)
import kubernetes.client
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
[result] = engine.handle(payload)
took = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
o = result.outcomes[0]
print(json.dumps({"seconds": took, "base_kib": base, "peak_kib": peak,
                  "status": o.status.value, "size": o.detail.get("evidence", {}).get("size")}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--containers", type=int, default=10)
    parser.add_argument("--mib", type=int, default=10, help="log size per container")
    parser.add_argument("--max-log-mib", type=int, default=10, help="max_log_bytes, MiB")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    line = (b"2026-12-01T10:10:10.000000000Z INFO GET /api/v1/orders 200 12ms user=svc " * 2)[:127] + b"\n"
    block = line * 8192                       # 1 MiB
    cluster = KmockCluster().start()
    try:
        cluster.add_namespace("default")
        cluster.add_node("node-a")
        pod = realistic_pod("default", "api-7f9c8d-x2k4p", "node-a",
                            [f"{i:064x}" for i in range(args.containers)])
        cluster.add_pod(pod)
        for c in pod["spec"]["containers"]:
            set_log(cluster, "default", pod["metadata"]["name"], c["name"],
                    lambda: (block for _ in range(args.mib)))
        with tempfile.TemporaryDirectory() as tmp:
            kubeconfig = cluster.kubeconfig(Path(tmp) / "kubeconfig")
            config = {"version": 1, "settings": {"action_timeout": "300s",
                                                 "alert_deadline": "300s",
                                                 "log_level": "warning"},
                      "actions": {"ev": {"type": "collect-evidence", "with": {
                          "cluster": {"kubeconfig": kubeconfig}, "timeout_seconds": 60,
                          "sink": f"file://{tmp}/ev", "previous_logs": False,
                          "max_log_bytes": args.max_log_mib * 1024 * 1024,
                          "max_total_bytes": 4 * 1024 ** 3}}},
                      "responses": [{"name": "r", "actions": ["ev"]}]}
            payload = {"time": "2026-12-01T10:10:10Z", "rule": "Terminal shell in container",
                       "priority": "Critical", "output": "x", "hostname": "node-a",
                       "output_fields": {"k8s.ns.name": "default",
                                         "k8s.pod.name": pod["metadata"]["name"]}}
            runs = []
            for _ in range(args.reps):
                out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(config),
                                      json.dumps(payload)], capture_output=True, text=True,
                                     check=True, timeout=600)
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        cluster.stop()
    total = args.containers * args.mib
    seconds = statistics.median(r["seconds"] for r in runs)
    print(f"collect-evidence: {args.containers} containers x {args.mib} MiB of logs "
          f"({total} MiB streamed), max_log_bytes {args.max_log_mib} MiB, {args.reps} runs")
    print(f"  status: {', '.join(r['status'] for r in runs)}; archive {runs[0]['size']:,} bytes")
    print(f"  time (median): {seconds:.2f} s  ({total / seconds:.0f} MiB/s)")
    print(f"  peak RSS: {max(r['peak_kib'] for r in runs) / 1024:.1f} MiB "
          f"(after imports and engine setup: {runs[0]['base_kib'] / 1024:.1f} MiB; growth "
          f"{max(r['peak_kib'] - r['base_kib'] for r in runs) / 1024:.1f} MiB)")


if __name__ == "__main__":
    main()
