"""`falco-response undo` for cordon-node and taint-node: the actions run through a real
Engine with a SQLite store, undo through the CLI, both against kmock over HTTP."""

from __future__ import annotations

import json

import pytest

from falco_response import Engine, Status
from falco_response.cli import main
from falco_response_testing.kubernetes import NODES, alert_with_fields, validate

OURS = {"key": "falco-response.io/compromised", "effect": "NoSchedule"}
SPOT = {"key": "spot", "value": "true", "effect": "PreferNoSchedule"}
MARK = "falco-response.io/cordoned-by"


@pytest.fixture
def run(cluster, kubeconfig, tmp_path):
    with_ = {"cluster": {"kubeconfig": kubeconfig}, "timeout_seconds": 2}
    config = {"version": 1,
              "settings": {"store": f"sqlite:///{tmp_path / 's.db'}", "action_timeout": "8s"},
              "actions": {"cordon": {"type": "cordon-node", "with": with_},
                          "taint": {"type": "taint-node", "with": {**with_, "value": "new",
                                                                   "cordon": True}}},
              "responses": [{"name": n, "match": {"rule": n}, "actions": [n]}
                            for n in ("cordon", "taint")]}
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(config))
    engine = Engine.from_config(str(path))

    def act(name):
        [result] = engine.handle(alert_with_fields({}, rule=name))
        assert [o.status for o in result.outcomes] == [Status.OK], result.outcomes
        return engine.store.history(0)[-1].id

    def undo(audit_id, *extra):
        code = main(["undo", audit_id, "--config", str(path), "--json", *extra])
        return code, json.loads(capsys_out().strip().splitlines()[-1])

    yield act, undo
    engine.close()


@pytest.fixture(autouse=True)
def _capsys(capsys):
    global capsys_out
    capsys_out = lambda: capsys.readouterr().out  # noqa: E731


def node(cluster):
    return cluster.obj(NODES, None, "node-a")


def put(cluster, obj):
    obj["metadata"]["resourceVersion"] = str(int(obj["metadata"]["resourceVersion"]) + 1)
    cluster.kmock.objects[NODES, None, "node-a"] = obj


def test_cordon_then_undo_uncordons(cluster, run):
    act, undo = run
    cluster.add_node("node-a")
    audit_id = act("cordon")
    assert node(cluster)["spec"]["unschedulable"] is True
    cluster.clear_requests()
    code, out = undo(audit_id, "--as", "bob")
    assert (code, out["status"]) == (0, "ok"), out
    assert out["reason"] == "undone: PATCH node node-a: uncordon"
    [patch] = cluster.writes()
    assert patch.data["spec"] == {"unschedulable": None}
    assert patch.data["metadata"]["annotations"] == {MARK: None}
    assert patch.data["metadata"]["resourceVersion"]
    assert "unschedulable" not in node(cluster)["spec"] and MARK not in node(cluster)["metadata"]["annotations"]
    validate(node(cluster))


def test_cordon_undo_refuses_when_someone_else_cordoned_it_since(cluster, run):
    act, undo = run
    cluster.add_node("node-a")
    audit_id = act("cordon")
    obj = node(cluster)
    obj["metadata"]["annotations"][MARK] = "someone-else"
    put(cluster, obj)
    cluster.clear_requests()
    code, out = undo(audit_id)
    assert code == 1 and out["status"] == "skipped"
    assert "is cordoned, but not by us any more" in out["reason"]
    assert cluster.writes() == [] and node(cluster)["spec"]["unschedulable"] is True


def test_cordon_undo_of_an_already_uncordoned_node_changes_nothing(cluster, run):
    act, undo = run
    cluster.add_node("node-a")
    audit_id = act("cordon")
    obj = node(cluster)
    del obj["spec"]["unschedulable"]
    put(cluster, obj)
    cluster.clear_requests()
    code, out = undo(audit_id)
    assert (code, out["reason"]) == (0, "nothing left to undo on node node-a")
    assert cluster.writes() == []


def test_taint_undo_removes_exactly_our_taint_and_restores_the_replaced_one(cluster, run):
    act, undo = run
    old = {**OURS, "value": "old"}
    cluster.add_node("node-a", taints=[old, SPOT])
    audit_id = act("taint")
    assert node(cluster)["spec"]["taints"] == [SPOT, {**OURS, "value": "new"}]
    obj = node(cluster)
    obj["spec"]["taints"].append({"key": "added-later", "effect": "NoSchedule"})
    put(cluster, obj)
    cluster.clear_requests()
    code, out = undo(audit_id, "--dry-run")
    assert out["status"] == "dry_run" and cluster.writes() == []
    code, out = undo(audit_id)
    assert (code, out["status"]) == (0, "ok"), out
    assert out["reason"] == ("undone: PATCH node node-a: remove taint falco-response.io/"
                             "compromised=new:NoSchedule (restoring the one it replaced) and "
                             "uncordon")
    [patch] = cluster.writes()
    assert patch.data["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]
    assert node(cluster)["spec"]["taints"] == [SPOT, {"key": "added-later", "effect": "NoSchedule"},
                                               old]


def test_taint_undo_refuses_a_changed_taint_and_retries_on_conflict(cluster, run):
    act, undo = run
    cluster.add_node("node-a", taints=[SPOT])
    audit_id = act("taint")
    obj = node(cluster)
    obj["spec"]["taints"][-1]["value"] = "edited"
    put(cluster, obj)
    cluster.clear_requests()
    code, out = undo(audit_id)
    assert code == 1 and "has taint falco-response.io/compromised=edited:NoSchedule" in out["reason"]
    assert cluster.writes() == []
    obj["spec"]["taints"][-1]["value"] = "new"
    put(cluster, obj)
    seen = cluster.fail("PATCH", "/api/v1/nodes/node-a", [409])
    code, out = undo(audit_id)
    assert (code, out["status"]) == (0, "ok"), out
    assert len(seen) == 1 and node(cluster)["spec"]["taints"] == [SPOT]
