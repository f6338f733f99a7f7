"""label-pod and scale-to-zero through the real Engine against kmock over HTTP."""

from __future__ import annotations

import pytest
from falco_response_testing.kubernetes import (DEPLOYMENTS, PODS, STATEFULSETS, deployment, method,
                                               outcome_of, owned_by, paths, pod_alert, validate)

from falco_response import ConfigError, Engine, Status

QUARANTINE = {"falco-response.io/quarantine": "true"}


def test_label_pod_adds_only_the_configured_labels(cluster, engine_for):
    pod = deployment(cluster)[0]
    name = pod["metadata"]["name"]
    payload = pod_alert("default", name)
    payload["output_fields"]["proc.cmdline"] = "sh -c 'label evil=yes'"
    out = outcome_of(engine_for("label-pod", {"labels": {**QUARANTINE, "team": "secops"}}),
                     payload)
    assert (out.status, out.reason) == (Status.OK, "labelled falco-response.io/quarantine=true, "
                                        "team=secops")
    [patch] = cluster.writes()
    assert paths([patch]) == [("PATCH", f"/api/v1/namespaces/default/pods/{name}")]
    assert patch.data == {"metadata": {"labels": {**QUARANTINE, "team": "secops"}}}
    stored = cluster.obj(PODS, "default", name)
    assert stored["metadata"]["labels"]["team"] == "secops"
    validate(stored)
    assert out.detail["undo"]["previous"] == {"falco-response.io/quarantine": None, "team": None}
    cluster.clear_requests()
    again = outcome_of(engine_for("label-pod", {"labels": QUARANTINE}), payload)
    assert (again.status, again.reason) == (Status.OK, "already labelled")
    assert cluster.writes() == []


def test_label_pod_dry_run_and_protection(cluster, engine_for):
    pod = deployment(cluster)[0]
    out = outcome_of(engine_for("label-pod", {"labels": QUARANTINE}, dry_run=True),
                     pod_alert("default", pod["metadata"]["name"]))
    assert out.status is Status.DRY_RUN
    assert out.reason == (f"would PATCH pod default/{pod['metadata']['name']} labels "
                          "falco-response.io/quarantine=true")
    cluster.add_namespace("quiet", annotations={"falco-response.io/ignore": "true"})
    deployment(cluster, "api", "quiet")
    out = outcome_of(engine_for("label-pod", {"labels": QUARANTINE}),
                     pod_alert("quiet", "api-7f9c8d-p0"))
    assert out.status is Status.SKIPPED and "annotated falco-response.io/ignore" in out.reason
    out = outcome_of(engine_for("label-pod", {"labels": QUARANTINE}),
                     pod_alert("kube-system", "coredns-1"))
    assert out.status is Status.SKIPPED and "protected" in out.reason
    assert cluster.writes() == []


@pytest.mark.parametrize("labels, why", [
    ({}, "at least one label"),
    ({"bad key!": "x"}, "not a valid label key"),
    ({"kubernetes.io/role": "x"}, "reserved"),
    ({"ok": "spaces are bad"}, "not a valid label value"),
])
def test_bad_labels_are_load_errors(kubeconfig, labels, why):
    config = {"version": 1, "actions": {"tag": {"type": "label-pod", "with": {
        "cluster": {"kubeconfig": kubeconfig}, "labels": labels}}},
        "responses": [{"name": "r", "actions": ["tag"]}]}
    with pytest.raises(ConfigError) as err:
        Engine.from_config(config)
    assert why in str(err.value) and "actions.tag.with" in str(err.value)


def test_scale_to_zero_records_replicas_then_scales(cluster, engine_for):
    pod = deployment(cluster, replicas=3)[0]
    out = outcome_of(engine_for("scale-to-zero"), pod_alert("default", pod["metadata"]["name"]))
    assert (out.status, out.target) == (Status.OK, "deployment:default/web")
    assert out.reason == "scaled deployment:default/web from 3 to 0 replicas"
    writes = cluster.writes()
    assert paths(writes) == [("PATCH", "/apis/apps/v1/namespaces/default/deployments/web"),
                             ("PATCH", "/apis/apps/v1/namespaces/default/deployments/web/scale")]
    assert writes[0].data == {"metadata": {"annotations": {"falco-response.io/scaled-from": "3"}}}
    assert writes[1].data == {"spec": {"replicas": 0}}
    stored = cluster.obj(DEPLOYMENTS, "default", "web")
    assert stored["spec"]["replicas"] == 0
    assert stored["metadata"]["annotations"]["falco-response.io/scaled-from"] == "3"
    validate(stored)
    assert out.detail["undo"] == {"kind": "Deployment", "namespace": "default", "name": "web",
                                  "uid": "uid-Deployment-web", "replicas": 3}
    cluster.clear_requests()
    again = outcome_of(engine_for("scale-to-zero"), pod_alert("default", pod["metadata"]["name"]))
    assert (again.status, again.reason) == (Status.OK, "already scaled to 0")
    assert cluster.writes() == []


def test_scale_to_zero_records_a_valid_event_on_the_workload(cluster, engine_for):
    pod = deployment(cluster, replicas=2)[0]
    out = outcome_of(engine_for("scale-to-zero", {"record_event": True}),
                     pod_alert("default", pod["metadata"]["name"]))
    assert out.status is Status.OK and out.detail["event"] == "recorded"
    event = [r for r in cluster.writes() if r.url.path.endswith("/events")][0]
    validate(event.data)
    assert event.data["involvedObject"]["kind"] == "Deployment"
    assert event.data["involvedObject"]["name"] == "web"


def test_scale_to_zero_statefulset_and_dry_run(cluster, engine_for):
    owned_by(cluster, "StatefulSet", "db", replicas=2)
    out = outcome_of(engine_for("scale-to-zero", dry_run=True), pod_alert("default", "db-0"))
    assert (out.status, out.reason) == (Status.DRY_RUN, "would scale statefulset:default/db "
                                        "from 2 to 0 replicas")
    assert cluster.writes() == []
    out = outcome_of(engine_for("scale-to-zero", {"allow_statefulsets": False}),
                     pod_alert("default", "db-0"))
    assert out.status is Status.SKIPPED and "allow_statefulsets: false" in out.reason
    out = outcome_of(engine_for("scale-to-zero"), pod_alert("default", "db-0"))
    assert out.status is Status.OK
    assert cluster.obj(STATEFULSETS, "default", "db")["spec"]["replicas"] == 0


def test_scale_to_zero_refuses_what_it_must_not_touch(cluster, engine_for):
    owned_by(cluster, "DaemonSet", "agent")
    out = outcome_of(engine_for("scale-to-zero"), pod_alert("default", "agent-0"))
    assert out.status is Status.SKIPPED
    assert out.reason == ("pod default/agent-0 is not run by a Deployment or StatefulSet "
                          "(owners: daemonset:default/agent): nothing to scale")
    deployment(cluster, "keep", annotations={"falco-response.io/ignore": "true"})
    out = outcome_of(engine_for("scale-to-zero"), pod_alert("default", "keep-7f9c8d-p0"))
    assert out.status is Status.SKIPPED and "deployment:default/keep is annotated" in out.reason
    out = outcome_of(engine_for("scale-to-zero"), pod_alert("kube-system", "coredns-1"))
    assert out.status is Status.SKIPPED and "protected" in out.reason
    assert [method(r) for r in cluster.writes()] == []
