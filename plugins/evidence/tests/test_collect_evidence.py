"""collect-evidence through the real Engine against kmock over HTTP, to a directory on disk."""

from __future__ import annotations

import json
import os
import re

import pytest
from evidence_support import evidence_pod, open_archive

from falco_response import ConfigError, Engine, Status
from falco_response_testing.kubernetes import PODS, outcome_of, pod_alert, set_log

UUID = "6a3c8f1e-2b4d-4e5f-9a8b-7c6d5e4f3a2b"


def sink(tmp_path):
    return {"sink": f"file://{tmp_path / 'evidence'}", "cluster_name": "prod-eu"}


def method(request):
    return getattr(request.method, "value", request.method)


def test_collects_one_archive_with_a_checked_manifest(cluster, engine_for, tmp_path):
    pod = evidence_pod(cluster)
    payload = {**pod_alert("default", pod["metadata"]["name"]), "uuid": UUID}
    out = outcome_of(engine_for("collect-evidence", sink(tmp_path)), payload)
    assert out.status is Status.OK, out
    evidence = out.detail["evidence"]
    path = evidence["uri"].removeprefix("file://")
    assert re.fullmatch(rf"{tmp_path}/evidence/prod-eu/default/web-7f9c8d-abcde/"
                        rf"\d{{8}}T\d{{6}}Z-{UUID}\.tar\.gz", path)
    assert os.path.getsize(path) == evidence["size"]
    assert out.reason == f"evidence collected: {evidence['uri']} ({evidence['size']} bytes, " \
                         "10 files, 1 not collected)"
    manifest, files = open_archive(path)
    assert set(files) == {"alert.json", "events.json", "logs/sidecar-1.log", "logs/web.log",
                          "logs/web.previous.log", "node.json", "owners/0-replicaset-web-7f9c8d.json",
                          "owners/1-deployment-web.json", "pod.json"}
    assert manifest["cluster"] == "prod-eu"
    assert manifest["alert"]["uuid"] == UUID and manifest["alert"]["rule"] == payload["rule"]
    assert manifest["collected_at"].endswith("Z") and manifest["format"] == 1
    assert manifest["pod"] == {"namespace": "default", "name": pod["metadata"]["name"],
                               "uid": pod["metadata"]["uid"], "node": "node-a"}
    assert manifest["skipped"] == [{"what": "log sidecar-1 (previous)",
                                    "reason": "no previous instance"}]
    assert files["logs/web.log"] == b"web line 1\nweb line 2\n"
    assert files["logs/web.previous.log"] == b"crashed before\n"
    stored_pod = json.loads(files["pod.json"])
    assert stored_pod["spec"] == pod["spec"] and "managedFields" not in stored_pod["metadata"]
    assert [e["reason"] for e in json.loads(files["events.json"])] == ["Scheduled", "Pulled",
                                                                       "Started"]
    assert json.loads(files["node.json"])["name"] == "node-a"
    assert json.loads(files["alert.json"])["uuid"] == UUID
    # read-only: nothing written to the cluster; logs asked per container
    assert [r for r in cluster.requests() if method(r) != "GET"] == []
    logs = [(r.url.path, r.params.get("container"), r.params.get("previous", "false"))
            for r in cluster.requests() if r.url.path.endswith("/log")]
    assert logs == [(f"/api/v1/namespaces/default/pods/{pod['metadata']['name']}/log", c, p)
                    for c in ("web", "sidecar-1") for p in ("False", "True")]
    events = [r for r in cluster.requests() if r.url.path.endswith("/events")]
    assert events[0].params["fieldSelector"] == (f"involvedObject.name={pod['metadata']['name']},"
                                                 f"involvedObject.uid={pod['metadata']['uid']}")


def test_the_key_never_holds_alert_text(cluster, engine_for, tmp_path):
    pod = evidence_pod(cluster)
    payload = {**pod_alert("default", pod["metadata"]["name"]), "uuid": "../../etc/passwd",
               "rule": "a/b/../../x"}
    out = outcome_of(engine_for("collect-evidence", sink(tmp_path)), payload)
    name = os.path.basename(out.detail["evidence"]["uri"])
    assert re.fullmatch(r"\d{8}T\d{6}Z-sha256-[0-9a-f]{24}\.tar\.gz", name)
    found = [os.path.join(d, f) for d, _, fs in os.walk(tmp_path / "evidence") for f in fs]
    assert found == [out.detail["evidence"]["uri"].removeprefix("file://")]


def test_logs_keep_the_tail_and_the_total_is_bounded(cluster, engine_for, tmp_path):
    pod = evidence_pod(cluster, containers=3)
    name = pod["metadata"]["name"]
    big = b"".join(b"line %06d\n" % i for i in range(2000))   # 24,000 bytes
    for c in pod["spec"]["containers"]:
        set_log(cluster, "default", name, c["name"], big)
    params = {**sink(tmp_path), "max_log_bytes": 4096, "max_total_bytes": 12000,
              "previous_logs": False}
    out = outcome_of(engine_for("collect-evidence", params), pod_alert("default", name))
    manifest, files = open_archive(out.detail["evidence"]["uri"].removeprefix("file://"))
    assert files["logs/web.log"] == big[-4096:]
    entry = next(f for f in manifest["files"] if f["name"] == "logs/web.log")
    assert entry["truncated"] is True and entry["bytes_read"] == len(big)
    total = sum(f["size"] for f in manifest["files"])
    assert total <= 12000
    # the second log gets what is left (its tail), the third nothing
    assert files["logs/sidecar-1.log"] == big[-len(files["logs/sidecar-1.log"]):]
    assert 1024 <= len(files["logs/sidecar-1.log"]) < 4096
    assert manifest["skipped"] == [{"what": "log sidecar-2", "reason": "max_total_bytes reached"}]


def test_dry_run_writes_nothing(cluster, engine_for, tmp_path):
    pod = evidence_pod(cluster)
    out = outcome_of(engine_for("collect-evidence", sink(tmp_path), dry_run=True),
                     pod_alert("default", pod["metadata"]["name"]))
    assert out.status is Status.DRY_RUN
    assert out.reason.startswith("would collect evidence for pod default/web-7f9c8d-abcde "
                                 "(2 containers' logs, owners, events, node) to file://")
    assert not (tmp_path / "evidence").exists()
    assert not any(r.url.path.endswith("/log") for r in cluster.requests())


def test_gone_and_protected_pods(cluster, engine_for, tmp_path):
    out = outcome_of(engine_for("collect-evidence", sink(tmp_path)), pod_alert("default", "gone"))
    assert out.status is Status.SKIPPED and "is gone" in out.reason
    out = outcome_of(engine_for("collect-evidence", sink(tmp_path)),
                     pod_alert("kube-system", "coredns-1"))
    assert out.status is Status.SKIPPED and "protected" in out.reason


def two_step(kubeconfig, tmp_path, sink_url, require=True):
    with_ = {"cluster": {"kubeconfig": kubeconfig}, "timeout_seconds": 2}
    return Engine.from_config({
        "version": 1, "settings": {"action_timeout": "8s"},
        "actions": {"collect": {"type": "collect-evidence", "with": {**with_, "sink": sink_url}},
                    "kill": {"type": "delete-pod", "with": {**with_,
                                                            "require_evidence": require}}},
        "responses": [{"name": "contain", "actions": ["collect", "kill"]}]})


def test_require_evidence_lets_the_kill_through_after_collection(cluster, kubeconfig, tmp_path):
    pod = evidence_pod(cluster)
    engine = two_step(kubeconfig, tmp_path, f"file://{tmp_path}/ev")
    [result] = engine.handle(pod_alert("default", pod["metadata"]["name"]))
    assert [o.status for o in result.outcomes] == [Status.OK, Status.OK], result.outcomes
    assert cluster.obj(PODS, "default", pod["metadata"]["name"]) is None


def test_require_evidence_skips_the_kill_when_collection_failed(cluster, kubeconfig, tmp_path):
    pod = evidence_pod(cluster)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    engine = two_step(kubeconfig, tmp_path, f"file://{blocker}")
    [result] = engine.handle(pod_alert("default", pod["metadata"]["name"]))
    collect, kill = result.outcomes
    assert collect.status is Status.FAILED
    assert collect.reason.startswith("evidence collected but not stored: could not write")
    assert kill.status is Status.SKIPPED
    assert kill.reason.startswith("evidence collection failed: failed: evidence collected but "
                                  "not stored")
    assert cluster.obj(PODS, "default", pod["metadata"]["name"]) is not None
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".evidence-")]


@pytest.mark.parametrize("params, why", [
    ({"sink": "ftp://x/y"}, "file:///directory or s3://bucket/prefix"),
    ({"sink": "file://relative/dir"}, "file:///absolute/directory"),
    ({"sink": "s3://Bad_Bucket/x"}, "not an S3 bucket name"),
    ({"sink": "s3://bucket/x", "s3": {"sse_kms_key_id": "k"}}, "needs s3.server_side_encryption"),
    ({"sink": "s3://bucket/x", "s3": {"server_side_encryption": "rot13"}}, "rot13"),
    ({"sink": "file:///tmp", "max_log_bytes": 10}, "at least 1024"),
    ({"sink": "file:///tmp", "cluster_name": "a/b"}, "cluster_name"),
    ({"sink": "file:///tmp", "record_event": True}, "collect-evidence only reads"),
])
def test_bad_parameters_are_load_errors(kubeconfig, params, why):
    config = {"version": 1, "actions": {"ev": {"type": "collect-evidence", "with": {
        "cluster": {"kubeconfig": kubeconfig}, **params}}},
        "responses": [{"name": "r", "actions": ["ev"]}]}
    with pytest.raises(ConfigError) as err:
        Engine.from_config(config)
    assert why in str(err.value) and "actions.ev.with" in str(err.value)


def test_thirty_containers_each_get_their_log(cluster, engine_for, tmp_path):
    pod = evidence_pod(cluster, name="many-1", containers=30)
    out = outcome_of(engine_for("collect-evidence", {**sink(tmp_path), "previous_logs": False}),
                     pod_alert("default", "many-1"))
    manifest, files = open_archive(out.detail["evidence"]["uri"].removeprefix("file://"))
    logs = sorted(f for f in files if f.startswith("logs/"))
    assert len(logs) == 30 and "logs/sidecar-29.log" in logs
    assert files["logs/sidecar-29.log"] == b"sidecar-29 line 1\nsidecar-29 line 2\n"


def test_a_log_still_streaming_at_the_deadline_is_kept_as_far_as_it_got(cluster, kubeconfig,
                                                                       tmp_path):
    import asyncio

    pod = evidence_pod(cluster, containers=1)
    name = pod["metadata"]["name"]
    sent = []

    async def slow():
        for i in range(200):              # 40 s at most: far past the deadline
            sent.append(i)
            yield b"tick %03d\n" % i
            await asyncio.sleep(0.2)

    set_log(cluster, "default", name, "web", slow)
    engine = Engine.from_config({
        "version": 1, "settings": {"action_timeout": "4s"},
        "actions": {"ev": {"type": "collect-evidence", "with": {
            "cluster": {"kubeconfig": kubeconfig}, "timeout_seconds": 2,
            "sink": f"file://{tmp_path}/ev", "previous_logs": False}}},
        "responses": [{"name": "r", "actions": ["ev"]}]})
    out = outcome_of(engine, pod_alert("default", name))
    assert out.status is Status.OK, out
    manifest, files = open_archive(out.detail["evidence"]["uri"].removeprefix("file://"))
    entry = next(f for f in manifest["files"] if f["name"] == "logs/web.log")
    assert entry["note"] == "incomplete: the deadline passed while reading"
    assert files["logs/web.log"].startswith(b"tick 000\n") and len(sent) < 200


def test_require_evidence_on_isolate_label_and_scale(cluster, kubeconfig, tmp_path):
    """Without a collection earlier in the response, each of them is skipped; after one for
    the same pod, each runs."""
    pod = evidence_pod(cluster)
    name = pod["metadata"]["name"]
    with_ = {"cluster": {"kubeconfig": kubeconfig}, "timeout_seconds": 2, "require_evidence": True}
    contain = {"isolate": {"type": "isolate-pod", "with": with_},
               "tag": {"type": "label-pod", "with": {**with_, "labels": {"team": "secops"}}},
               "suspend": {"type": "scale-to-zero", "with": with_}}
    collect = {"type": "collect-evidence", "with": {"cluster": {"kubeconfig": kubeconfig},
                                                    "sink": f"file://{tmp_path}/ev"}}
    bare = Engine.from_config({"version": 1, "actions": contain, "responses": [
        {"name": "r", "actions": list(contain)}]})
    [result] = bare.handle(pod_alert("default", name))
    assert [o.status for o in result.outcomes] == [Status.SKIPPED] * 3
    assert all(o.reason.startswith("evidence collection failed") for o in result.outcomes)
    assert [r for r in cluster.requests() if method(r) != "GET"] == []
    full = Engine.from_config({"version": 1, "actions": {"collect": collect, **contain},
                               "responses": [{"name": "r", "actions": ["collect", *contain]}]})
    [result] = full.handle(pod_alert("default", name))
    assert [o.status for o in result.outcomes] == [Status.OK] * 4, result.outcomes
