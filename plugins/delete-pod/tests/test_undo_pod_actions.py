"""`falco-response undo AUDIT_ID` for isolate-pod, label-pod, scale-to-zero and delete-pod:
the actions run through a real Engine with a SQLite store, undo runs through the CLI, both
against kmock over HTTP."""

from __future__ import annotations

import json

import pytest
from falco_response_testing.kubernetes import (DEPLOYMENTS, NETPOLS, PODS, deployment, paths,
                                               validate)
from falco_response_testing.kubernetes import alert_with_fields as make_alert

from falco_response import Engine, Status
from falco_response.cli import main

QUARANTINE = "falco-response.io/quarantine"


@pytest.fixture
def setup(cluster, kubeconfig, tmp_path):
    store = f"sqlite:///{tmp_path / 'state.db'}"
    with_ = {"cluster": {"kubeconfig": kubeconfig}, "timeout_seconds": 2}
    config = {
        "version": 1,
        "settings": {"store": store, "action_timeout": "8s"},
        "actions": {
            "isolate": {"type": "isolate-pod", "with": with_},
            "tag": {"type": "label-pod", "with": {**with_, "labels": {"team": "secops",
                                                                       "app": "suspect"}}},
            "suspend": {"type": "scale-to-zero", "with": with_},
            "kill": {"type": "delete-pod", "with": with_},
        },
        "responses": [{"name": name, "match": {"rule": name}, "actions": [name]}
                      for name in ("isolate", "tag", "suspend", "kill")],
    }
    path = tmp_path / "falco-response.yaml"
    path.write_text(json.dumps(config))
    engine = Engine.from_config(str(path))

    def act(action: str, pod: str, namespace: str = "default", dry_run: bool = False) -> str:
        payload = make_alert({"k8s.ns.name": namespace, "k8s.pod.name": pod}, rule=action)
        runner = Engine.from_config(str(path), dry_run=True) if dry_run else engine
        [result] = runner.handle(payload)
        [outcome] = result.outcomes
        assert outcome.status in (Status.OK, Status.DRY_RUN), outcome
        record = runner.store.history(0)[-1]
        assert record.action == action and record.id
        return str(record.id)

    class Setup:
        pass

    s = Setup()
    s.act, s.path, s.engine = act, str(path), engine
    yield s
    engine.close()


def undo(setup, capsys, audit_id, *extra):
    code = main(["undo", audit_id, "--config", setup.path, "--json", *extra])
    lines = capsys.readouterr().out.strip().splitlines()  # the action logs may come first
    return code, json.loads(lines[-1]) if lines else None


def last_record(setup):
    return setup.engine.store.history(0)[-1]


def test_isolate_then_undo_removes_label_and_policy(cluster, setup, capsys):
    pod = deployment(cluster)[0]["metadata"]["name"]
    audit_id = setup.act("isolate", pod)
    assert cluster.obj(NETPOLS, "default", "falco-response-quarantine") is not None
    cluster.clear_requests()
    code, out = undo(setup, capsys, audit_id, "--as", "alice")
    assert code == 0 and out["status"] == "ok", out
    assert out["reason"] == (f"undone: remove label {QUARANTINE} from pod default/{pod} and "
                             "DELETE networkpolicy default/falco-response-quarantine")
    assert paths(cluster.writes()) == [
        ("PATCH", f"/api/v1/namespaces/default/pods/{pod}"),
        ("DELETE", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/"
                   "falco-response-quarantine")]
    patch = cluster.writes()[0].data
    assert patch["metadata"]["labels"] == {QUARANTINE: None}
    assert patch["metadata"]["resourceVersion"]
    assert QUARANTINE not in cluster.obj(PODS, "default", pod)["metadata"]["labels"]
    assert cluster.obj(NETPOLS, "default", "falco-response-quarantine") is None
    record = last_record(setup)
    assert (record.response, record.by, record.status) == ("undo", "alice", "ok")
    assert record.undo == {"of": audit_id} and not record.dry_run
    cluster.clear_requests()
    code, out = undo(setup, capsys, audit_id)
    assert code == 1 and out["status"] == "skipped" and "already undone by alice" in out["reason"]
    assert cluster.writes() == []


def test_undo_keeps_a_policy_that_still_isolates_other_pods(cluster, setup, capsys):
    pods = [p["metadata"]["name"] for p in deployment(cluster, pods=2)]
    first = setup.act("isolate", pods[0])
    setup.act("isolate", pods[1])
    code, out = undo(setup, capsys, first)
    assert code == 0, out
    assert out["reason"].startswith(f"undone: remove label {QUARANTINE} from pod default/{pods[0]}"
                                    "; kept networkpolicy falco-response-quarantine: 1 other pod")
    assert cluster.obj(NETPOLS, "default", "falco-response-quarantine") is not None
    assert cluster.obj(PODS, "default", pods[1])["metadata"]["labels"][QUARANTINE] == "true"
    selects = [r for r in cluster.requests() if "labelSelector" in r.params]
    assert [r.params["labelSelector"] for r in selects] == [f"{QUARANTINE}=true"]
    assert selects[0].url.path == "/api/v1/namespaces/default/pods"


def test_undo_refuses_when_the_policy_changed_since(cluster, setup, capsys):
    pod = deployment(cluster)[0]["metadata"]["name"]
    audit_id = setup.act("isolate", pod)
    policy = cluster.obj(NETPOLS, "default", "falco-response-quarantine")
    policy["spec"]["policyTypes"] = ["Ingress"]
    cluster.kmock.objects[NETPOLS, "default", "falco-response-quarantine"] = policy
    cluster.clear_requests()
    code, out = undo(setup, capsys, audit_id)
    assert code == 1 and out["status"] == "skipped"
    assert out["reason"] == ("refusing to undo: networkpolicy default/falco-response-quarantine "
                             "changed since we created it; nothing changed")
    assert cluster.writes() == []
    assert cluster.obj(PODS, "default", pod)["metadata"]["labels"][QUARANTINE] == "true"


def test_label_undo_and_refusal(cluster, setup, capsys):
    pod = deployment(cluster, pods=2)
    one, two = (p["metadata"]["name"] for p in pod)
    first = setup.act("tag", one)
    code, out = undo(setup, capsys, first, "--dry-run")
    assert code == 0 and out["status"] == "dry_run"
    assert out["reason"] == f"would PATCH pod default/{one} labels app=web, -team"
    assert cluster.obj(PODS, "default", one)["metadata"]["labels"]["team"] == "secops"
    assert last_record(setup).dry_run
    code, out = undo(setup, capsys, first)
    assert code == 0 and out["status"] == "ok", out
    labels = cluster.obj(PODS, "default", one)["metadata"]["labels"]
    assert "team" not in labels and labels["app"] == "web"  # the value we overwrote is back
    validate(cluster.obj(PODS, "default", one))
    second = setup.act("tag", two)
    stored = cluster.obj(PODS, "default", two)
    stored["metadata"]["labels"]["team"] = "platform"
    cluster.kmock.objects[PODS, "default", two] = stored
    cluster.clear_requests()
    code, out = undo(setup, capsys, second)
    assert code == 1 and out["reason"] == (f"refusing to undo: pod default/{two} has "
                                           "team=platform, not secops as we set it; nothing changed")
    assert cluster.writes() == []


def test_scale_undo_restores_replicas(cluster, setup, capsys):
    pod = deployment(cluster, replicas=3)[0]["metadata"]["name"]
    audit_id = setup.act("suspend", pod)
    cluster.clear_requests()
    code, out = undo(setup, capsys, audit_id)
    assert code == 0, out
    assert out["reason"] == "undone: scale deployment:default/web from 0 back to 3 replicas"
    assert paths(cluster.writes()) == [
        ("PATCH", "/apis/apps/v1/namespaces/default/deployments/web/scale"),
        ("PATCH", "/apis/apps/v1/namespaces/default/deployments/web")]
    stored = cluster.obj(DEPLOYMENTS, "default", "web")
    assert stored["spec"]["replicas"] == 3
    assert "falco-response.io/scaled-from" not in stored["metadata"]["annotations"]


def test_scale_undo_refuses_when_someone_scaled_since(cluster, setup, capsys):
    pod = deployment(cluster, replicas=3)[0]["metadata"]["name"]
    audit_id = setup.act("suspend", pod)
    stored = cluster.obj(DEPLOYMENTS, "default", "web")
    stored["spec"]["replicas"] = 1
    cluster.kmock.objects[DEPLOYMENTS, "default", "web"] = stored
    cluster.clear_requests()
    code, out = undo(setup, capsys, audit_id)
    assert code == 1 and out["status"] == "skipped"
    assert "now has 1 replicas, not the 0 we set: someone scaled it since" in out["reason"]
    assert cluster.writes() == []


def test_deletion_cannot_be_undone(cluster, setup, capsys):
    pod = deployment(cluster)[0]["metadata"]["name"]
    audit_id = setup.act("kill", pod)
    cluster.clear_requests()
    code, out = undo(setup, capsys, audit_id)
    assert code == 1 and out["status"] == "skipped"
    assert out["reason"].startswith("a deleted or evicted pod cannot be undone")
    assert cluster.requests() == []


def test_a_dry_run_record_and_an_unknown_id(cluster, setup, capsys):
    pod = deployment(cluster)[0]["metadata"]["name"]
    audit_id = setup.act("isolate", pod, dry_run=True)
    code, out = undo(setup, capsys, audit_id)
    assert code == 1 and "is a dry run: it changed nothing" in out["reason"]
    code = main(["undo", "0123456789ab", "--config", setup.path])
    captured = capsys.readouterr()
    assert code == 1 and "no audit record '0123456789ab'" in captured.err
    assert cluster.writes() == []


def test_plain_output_names_the_record(cluster, setup, capsys):
    pod = deployment(cluster, replicas=2)[0]["metadata"]["name"]
    audit_id = setup.act("suspend", pod)
    assert main(["undo", audit_id, "--config", setup.path]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line == ("ok       deployment:default/web suspend/suspend (scale-to-zero): undone: "
                    "scale deployment:default/web from 0 back to 2 replicas")
