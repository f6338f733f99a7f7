"""The runbook of docs/kubernetes.md, end to end on kmock: a shell was spawned; collect,
isolate, scale to zero in one response; then undo the isolation and the scaling."""

from __future__ import annotations

import json

from evidence_support import evidence_pod, open_archive

from falco_response import Engine, Status
from falco_response.cli import main
from falco_response_testing.kubernetes import DEPLOYMENTS, NETPOLS, PODS, pod_alert


def test_collect_isolate_scale_then_undo(cluster, kubeconfig, tmp_path, capsys):
    pod = evidence_pod(cluster)
    name = pod["metadata"]["name"]
    with_ = {"cluster": {"kubeconfig": kubeconfig}, "timeout_seconds": 2}
    config = {"version": 1, "settings": {"store": f"sqlite:///{tmp_path / 's.db'}"},
              "actions": {
                  "collect": {"type": "collect-evidence", "with": {
                      **with_, "sink": f"file://{tmp_path}/ev"}},
                  "isolate": {"type": "isolate-pod", "with": {**with_, "require_evidence": True}},
                  "suspend": {"type": "scale-to-zero", "with": {**with_,
                                                                "require_evidence": True}}},
              "responses": [{"name": "contain-shells",
                             "match": {"rule": "Terminal shell in container"},
                             "actions": ["collect", "isolate", "suspend"]}]}
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(config))
    engine = Engine.from_config(str(path))
    [result] = engine.handle(pod_alert("default", name))
    collect, isolate, suspend = result.outcomes
    assert [o.status for o in result.outcomes] == [Status.OK] * 3, result.outcomes
    manifest, _ = open_archive(collect.detail["evidence"]["uri"].removeprefix("file://"))
    assert manifest["pod"]["name"] == name
    assert cluster.obj(DEPLOYMENTS, "default", "web")["spec"]["replicas"] == 0
    records = {r.action: r.id for r in engine.store.history(0)}
    engine.close()
    for action in ("isolate", "suspend"):
        assert main(["undo", records[action], "--config", str(path), "--as", "alice"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-2].startswith(f"ok       pod:default/{name} contain-shells/isolate")
    assert lines[-1].endswith("undone: scale deployment:default/web from 0 back to 2 replicas")
    assert cluster.obj(DEPLOYMENTS, "default", "web")["spec"]["replicas"] == 2
    assert "falco-response.io/quarantine" not in cluster.obj(PODS, "default", name)["metadata"]["labels"]
    assert cluster.obj(NETPOLS, "default", "falco-response-quarantine") is None
    assert main(["undo", records["collect"], "--config", str(path)]) == 1
    assert "collect-evidence cannot be undone" in capsys.readouterr().out
