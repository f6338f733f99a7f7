"""The cluster's bearer token never reaches a log, an outcome or an error, not even when the
API server echoes the request's Authorization header back (the kit's log capture checks)."""

from __future__ import annotations

from falco_response import Engine, Status
from falco_response_testing import Logs, everything
from falco_response_testing.kubernetes import cid, realistic_pod

TOKEN = "kmock-bearer-0123456789abcdefSECRET"


def engine(kubeconfig: str) -> Engine:
    return Engine.from_config({
        "version": 1, "settings": {"action_timeout": "8s"},
        "actions": {"act": {"type": "delete-pod", "with": {
            "cluster": {"kubeconfig": kubeconfig}, "timeout_seconds": 2}}},
        "responses": [{"name": "contain", "actions": ["act"]}]})


def echo_authorization(request):
    from falco_response_testing.kubernetes.cluster import Response, status_body

    seen = request.headers.get("Authorization", "")
    return Response(status=403, payload=status_body(
        403, "Forbidden", f"user for {seen} cannot get pods", details={"auth": seen}))


def test_an_echoed_bearer_token_stays_out_of_logs_and_outcomes(cluster, tmp_path, logs: Logs):
    from falco_response_testing.kubernetes import pod_alert

    cluster.add_pod(realistic_pod("default", "web-1", "node-a", [cid(1)]))
    cluster.react("GET", "/api/v1/namespaces/default/pods/web-1", echo_authorization)
    kubeconfig = cluster.kubeconfig(tmp_path / "kubeconfig", token=TOKEN)
    results = engine(kubeconfig).handle(pod_alert("default", "web-1"))
    [outcome] = results[0].outcomes
    assert outcome.status is Status.FAILED and outcome.reason.startswith("GET pod default/web-1")
    assert [r.headers.get("Authorization") for r in cluster.requests()] == [f"Bearer {TOKEN}"]
    logs.assert_no_secret(TOKEN, also=[everything(results, logs)])
