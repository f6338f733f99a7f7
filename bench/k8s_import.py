"""Figures for the Kubernetes containment plugins (prints them; asserts nothing).

1. Cold start: whole-process wall time of importing each plugin and registering its actions
   (a real Engine built from a dict config, given the plugin module; entry points off so
   other installed plugins do not blur the figure), beside bare ``import kubernetes.client``
   and an empty interpreter, all measured in this one run with subprocesses, interleaved,
   several repetitions. "Own cost" is a process's time minus the empty interpreter's.
2. Flat cost: time per delete-pod alert through ``Engine.handle`` on a kmock emulator with
   100, 1,000 and 5,000 realistic pods (50 per node), resolving the pod by name and by
   container id, beside one bare GET on the same emulator (its own per-request cost grows
   with the number of objects it scans) and the seed's way (list every pod in the cluster).

Run: ``python bench/k8s_import.py [--reps 7] [--alerts 40]`` with the plugins and the
``test`` extra of falco-response-kubernetes installed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REGISTER = (
    "from falco_response import Engine\n"
    "{imports}"
    "Engine.from_config({{'version': 1, 'actions': {{{actions}}}, 'responses': []}},"
    " plugins=[{plugins}], entry_points=False)\n"
)
CASES = {
    "python -c pass (empty interpreter)": "pass",
    "import kubernetes.client (bare)": "import kubernetes.client",
    "core only: Engine.from_config (log action)": REGISTER.format(
        imports="", plugins="", actions="'a': {'type': 'log'}"),
    "delete-pod plugin: import + register (delete-pod, isolate-pod)": REGISTER.format(
        imports="import falco_response_delete_pod as p\n", plugins="p",
        actions="'a': {'type': 'delete-pod'}, 'b': {'type': 'isolate-pod'}"),
    "taint-node plugin: import + register (taint-node, cordon-node)": REGISTER.format(
        imports="import falco_response_taint_node as p\n", plugins="p",
        actions="'a': {'type': 'taint-node'}, 'b': {'type': 'cordon-node'}"),
    "delete-pod plugin + first use (client built)": REGISTER.format(
        imports="import falco_response_delete_pod as p\n", plugins="p",
        actions="'a': {'type': 'delete-pod'}") + (
        "import kubernetes.client\nkubernetes.client.ApiClient(kubernetes.client.Configuration())\n"),
}


def run_once(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000.0


def import_figures(reps: int) -> None:
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for code in CASES.values():      # warm the bytecode caches once
        run_once(code)
    for _ in range(reps):            # interleaved, so drift hits every case alike
        for name, code in CASES.items():
            times[name].append(run_once(code))
    median = {name: statistics.median(values) for name, values in times.items()}
    empty = median["python -c pass (empty interpreter)"]
    bare = median["import kubernetes.client (bare)"] - empty
    print(f"\n## Cold start: whole process, {reps} repetitions each (ms)\n")
    print(f"{'case':66} {'median':>8} {'min':>8} {'own':>8} {'own/k8s':>8}")
    for name, values in times.items():
        own = median[name] - empty
        print(f"{name:66} {median[name]:8.1f} {min(values):8.1f} {own:8.1f} "
              f"{own / bare:8.1%}")
    core = median["core only: Engine.from_config (log action)"] - empty
    for plugin in ("delete-pod", "taint-node"):
        name = next(n for n in CASES if n.startswith(f"{plugin} plugin: import"))
        own = median[name] - empty
        print(f"ratio {plugin}: (import + register) / bare import kubernetes.client = "
              f"{own / bare:.1%}; the plugin over the core alone: {own - core:+.1f} ms "
              f"({(own - core) / bare:+.1%})")


def seed_style(kube_api: Any, namespace: str, name: str) -> None:
    """The seed's delete function: list every pod in every namespace, then pick by name."""
    for pod in kube_api.list_pod_for_all_namespaces().items:
        if pod.metadata.namespace == namespace and pod.metadata.name == name:
            return


def flat_figures(sizes: list[int], alerts: int, per_node: int) -> None:
    import structlog
    from kubernetes import client, config

    import falco_response_delete_pod

    from falco_response import Engine
    from falco_response.logs import configure_logging
    from falco_response_testing.kubernetes import (KmockCluster, cid, container_alert,
                                                   pod_alert, realistic_pod)

    configure_logging("warning")
    structlog.get_logger()
    print(f"\n## Flat cost: delete-pod per alert on kmock, {per_node} pods per node (ms)\n")
    print(f"{'pods':>6} {'nodes':>5} {'by name':>9} {'(min)':>7} {'calls':>5} {'by cid':>9} "
          f"{'(min)':>7} {'calls':>5} {'1 bare GET':>10} {'seed: list all':>14}")
    for size in sizes:
        cluster = KmockCluster().start()
        try:
            cluster.add_namespace("default")
            nodes = max(2, size // per_node)
            pods = []
            for i in range(size):
                pod = realistic_pod("default", f"app-{i % 40}-{i:05d}", f"node-{i % nodes}",
                                    [cid(i), cid(i, "sidecar")])
                pods.append(cluster.add_pod(pod))
            with tempfile.TemporaryDirectory() as tmp:
                kubeconfig = cluster.kubeconfig(Path(tmp) / "kubeconfig")
                engine = Engine.from_config({
                    "version": 1, "settings": {"action_timeout": "30s"},
                    "actions": {"kill": {"type": "delete-pod",
                                         "with": {"cluster": {"kubeconfig": kubeconfig}}}},
                    "responses": [{"name": "contain", "actions": ["kill"]}]},
                    plugins=[falco_response_delete_pod], entry_points=False)
                api = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
                engine.handle(pod_alert("default", pods[-1]["metadata"]["name"]))  # warm up
                victims = iter(pods[: 2 * alerts])
                row = [f"{size:6d}", f"{nodes:5d}"]
                for mode in ("name", "cid"):
                    cluster.clear_requests()
                    spent = []
                    for _ in range(alerts):
                        pod = next(victims)
                        meta = pod["metadata"]
                        if mode == "name":
                            payload = pod_alert("default", meta["name"])
                        else:
                            container = pod["status"]["containerStatuses"][0]["containerID"]
                            payload = container_alert(container.split("://")[1][:12],
                                                      hostname=pod["spec"]["nodeName"])
                        start = time.perf_counter()
                        [result] = engine.handle(payload)
                        spent.append((time.perf_counter() - start) * 1000.0)
                        assert result.outcomes[0].status.value == "ok", result.outcomes
                    calls = len(cluster.requests()) / alerts
                    row += [f"{statistics.median(spent):9.2f}", f"{min(spent):7.2f}", f"{calls:5.1f}"]
                cluster.clear_requests()
                bare = []
                for pod in pods[2 * alerts:-1][:20]:   # pods[-1] went in the warm-up
                    start = time.perf_counter()
                    api.read_namespaced_pod(pod["metadata"]["name"], "default",
                                            _preload_content=False).data
                    bare.append((time.perf_counter() - start) * 1000.0)
                cluster.clear_requests()
                seed = []
                for _ in range(3 if size <= 1000 else 2):
                    start = time.perf_counter()
                    seed_style(api, "default", pods[-2]["metadata"]["name"])
                    seed.append((time.perf_counter() - start) * 1000.0)
                row += [f"{statistics.median(bare):10.2f}", f"{statistics.median(seed):14.1f}"]
                print(" ".join(row))
        finally:
            cluster.clear_requests()
            cluster.stop()
    print("\nMedians (and minimum) over the alerts; each alert deletes a different pod. "
          "'calls' = API requests kmock recorded per alert (log cleared between phases). "
          "kmock finds an object by scanning all of them, so its own per-request time (the "
          "bare GET) grows with the cluster; the alert costs that many requests, never a "
          "cluster-wide list.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--alerts", type=int, default=40)
    parser.add_argument("--per-node", type=int, default=50)
    parser.add_argument("--sizes", default="100,1000,5000")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]} on {sys.platform}")
    import_figures(args.reps)
    flat_figures([int(s) for s in args.sizes.split(",")], args.alerts, args.per_node)


if __name__ == "__main__":
    main()
