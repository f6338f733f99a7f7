"""On a laptop with no cluster: a dry run shows the target the alert names and says it could
not be checked and how to point it at a cluster; a live run still fails closed. The EKS
region error names the setting and the variable that fix it."""

from __future__ import annotations

from pathlib import Path

import pytest

from falco_response import ConfigError, Engine, Status
from falco_response_testing.kubernetes import outcome_of, pod_alert


@pytest.fixture
def no_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("FALCO_RESPONSE_DRY_RUN", raising=False)


def engine(action_type: str, *, dry_run: bool) -> Engine:
    config = {"version": 1, "actions": {"act": {"type": action_type}},
              "responses": [{"name": "contain", "actions": ["act"]}]}
    return Engine.from_config(config, dry_run=dry_run)


@pytest.mark.parametrize("action_type, target", [
    ("delete-pod", "pod:payments/api-7f9"), ("isolate-pod", "pod:payments/api-7f9"),
    ("taint-node", "node:node-a"), ("cordon-node", "node:node-a")])
def test_a_dry_run_with_no_cluster_shows_the_alerts_target(
        no_cluster: None, action_type: str, target: str) -> None:
    out = outcome_of(engine(action_type, dry_run=True), pod_alert("payments", "api-7f9"))
    assert out.status is Status.DRY_RUN
    assert out.target == target
    assert out.reason.startswith(f"would act on {target}; not checked against a cluster")
    assert "KUBECONFIG" in out.reason and "cluster.kubeconfig" in out.reason
    assert out.detail["checked"] is False


def test_a_live_run_with_no_cluster_still_fails_closed(no_cluster: None) -> None:
    out = outcome_of(engine("delete-pod", dry_run=False), pod_alert("payments", "api-7f9"))
    assert out.status is Status.FAILED
    assert out.reason.startswith("could not set up the Kubernetes client")


def test_the_eks_region_error_says_what_fixes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    config = {"version": 1, "actions": {"act": {"type": "delete-pod", "with": {
        "cluster": {"eks": {"cluster_name": "prod"}}}}},
              "responses": [{"name": "contain", "actions": ["act"]}]}
    with pytest.raises(ConfigError) as info:
        Engine.from_config(config)
    assert "set cluster.eks.region in the config, or the AWS_REGION environment variable" in \
        str(info.value)
