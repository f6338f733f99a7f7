"""A 200 MB log streams through collect-evidence in a subprocess whose peak RSS stays small:
the log goes to a fixed-size tail spool on disk, the archive to a file, never to memory."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from evidence_support import evidence_pod, open_archive

from falco_response_testing.kubernetes import set_log

CHUNK = b"x" * 1023 + b"\n"
MIB = 1024 * 1024
TOTAL_MIB = 200
CEILING_MIB = 40   # growth of the peak RSS over the process's own baseline

CHILD = textwrap.dedent("""
    import json, resource, sys
    from falco_response import Engine
    config = json.loads(sys.argv[1])
    payload = json.loads(sys.argv[2])
    engine = Engine.from_config(config)
    import kubernetes, tarfile, gzip  # baseline: everything imported, one small run done
    small = dict(payload, output_fields=dict(payload["output_fields"], **{"k8s.pod.name": "warm-up"}))
    engine.handle(small)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    [result] = engine.handle(payload)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = result.outcomes[0]
    print(json.dumps({"base_kib": base, "peak_kib": peak, "status": out.status.value,
                      "reason": out.reason, "detail": out.detail}))
""")


def test_200_mb_of_logs_in_a_small_rss(cluster, kubeconfig, tmp_path):
    pod = evidence_pod(cluster, containers=1)
    evidence_pod(cluster, name="warm-up", containers=1)
    name = pod["metadata"]["name"]
    sent = []

    def huge():
        for _ in range(TOTAL_MIB):
            sent.append(1)
            yield CHUNK * 1024

    set_log(cluster, "default", name, "web", huge)
    config = {"version": 1, "settings": {"action_timeout": "120s", "alert_deadline": "150s",
                                         "log_level": "warning"},
              "actions": {"ev": {"type": "collect-evidence", "with": {
                  "cluster": {"kubeconfig": kubeconfig}, "timeout_seconds": 60,
                  "sink": f"file://{tmp_path}/ev", "max_log_bytes": 8 * MIB,
                  "previous_logs": False}}},
              "responses": [{"name": "r", "actions": ["ev"]}]}
    payload = {"time": "2026-11-26T13:44:05Z", "rule": "Terminal shell in container",
               "priority": "Critical", "output": "x", "hostname": "node-a",
               "output_fields": {"k8s.ns.name": "default", "k8s.pod.name": name}}
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(config), json.dumps(payload)],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["status"] == "ok", report
    assert len(sent) == TOTAL_MIB
    growth_mib = (report["peak_kib"] - report["base_kib"]) / 1024
    assert growth_mib < CEILING_MIB, report
    manifest, files = open_archive(report["detail"]["evidence"]["uri"].removeprefix("file://"))
    entry = next(f for f in manifest["files"] if f["name"] == "logs/web.log")
    assert entry["bytes_read"] == TOTAL_MIB * MIB and entry["size"] == 8 * MIB
    assert entry["truncated"] is True and files["logs/web.log"].endswith(CHUNK)
