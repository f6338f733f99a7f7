"""deploy/aws: the SAM template passes cfn-lint, keeps its filter policy in step with the
example config, and wires what the handler expects; the EKS RBAC bindings name real
ClusterRoles and a group, never system:masters."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from falco_response.aws_lambda.filter_policy import build_policy
from falco_response.cli.sns_policy import load_matches
from falco_response.state.dynamodb import PARTITION_KEY, TTL_ATTRIBUTE

from .conftest import ROOT

DEPLOY = ROOT / "deploy" / "aws"
TEMPLATE = DEPLOY / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, ...) read as {"Tag": value}."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {suffix: value}


_CfnLoader.add_multi_constructor("!", _tag)


def template() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def test_cfn_lint_passes() -> None:
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent)) or \
        shutil.which("cfn-lint")
    assert cfn_lint, "cfn-lint is a test dependency of tox -e aws"
    proc = subprocess.run([cfn_lint, str(TEMPLATE)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_cfn_lint_catches_a_broken_template(tmp_path: Path) -> None:
    broken = tmp_path / "template.yaml"
    broken.write_text(TEMPLATE.read_text().replace("VisibilityTimeout: 360",
                                                   "VisibilityTimeout: lots"))
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent)) or \
        shutil.which("cfn-lint")
    assert cfn_lint
    proc = subprocess.run([cfn_lint, str(broken)], capture_output=True, text=True, check=False)
    assert proc.returncode != 0 and "E3012 'lots' is not of type 'integer'" in proc.stdout


def test_default_filter_policy_is_the_example_configs() -> None:
    default = template()["Parameters"]["FilterPolicy"]["Default"]
    generated = build_policy(load_matches(str(DEPLOY / "falco-response.yaml")), "attributes")
    assert json.loads(default) == generated.policy


def test_function_wiring() -> None:
    resources = template()["Resources"]
    function = resources["Responder"]["Properties"]
    assert function["Handler"] == "falco_response.aws_lambda.handler"
    event = function["Events"]["Alerts"]["Properties"]
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    env = function["Environment"]["Variables"]
    assert env["FALCO_RESPONSE_STORE"] == {"Sub": "dynamodb://${StateTable}"}
    queue = resources["AlertsQueue"]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 5
    assert queue["VisibilityTimeout"] >= 6 * template()["Globals"]["Function"]["Timeout"]
    table = resources["StateTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert resources["AlertsSubscription"]["Properties"]["RawMessageDelivery"] is False


def _statements(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        if "Effect" in node and "Action" in node:
            found.append(node)
        for value in node.values():
            found.extend(_statements(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_statements(value))
    return found


def test_iam_is_least_privilege() -> None:
    text = TEMPLATE.read_text()
    statements = _statements(template()["Resources"])
    assert statements
    for statement in statements:
        assert statement["Resource"] != "*", statement
        actions = statement["Action"] if isinstance(statement["Action"], list) else [
            statement["Action"]]
        assert all("*" not in a for a in actions), statement
    assert "AdministratorAccess" not in text and "system:masters" not in text.replace(
        "no system:masters", "")
    entry = template()["Resources"]["ResponderAccessEntry"]["Properties"]
    assert "AccessPolicies" not in entry  # RBAC comes from deploy/aws/eks-rbac.yaml only


def test_eks_rbac_binds_the_group_to_the_plugins_cluster_roles() -> None:
    group = template()["Parameters"]["KubernetesGroup"]["Default"]
    bindings = list(yaml.safe_load_all((DEPLOY / "eks-rbac.yaml").read_text()))
    roles = {doc["metadata"]["name"] for path in (ROOT / "deploy" / "kubernetes" / "rbac").glob(
        "*.yaml") for doc in yaml.safe_load_all(path.read_text())
        if doc and doc.get("kind") == "ClusterRole"}
    assert {b["roleRef"]["name"] for b in bindings} == {"falco-response-delete-pod",
                                                        "falco-response-taint-node",
                                                        "falco-response-evidence"}
    assert {b["roleRef"]["name"] for b in bindings} <= roles
    for binding in bindings:
        assert binding["kind"] == "ClusterRoleBinding"
        assert binding["roleRef"]["name"] != "cluster-admin"
        assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                                        "name": group}]


def test_approvals_wiring() -> None:
    """Approvals=true: a function URL for Slack's clicks and a one-minute schedule whose
    input is the sweep event the handler knows."""
    from falco_response.aws_lambda.approvals import SWEEP_EVENT

    data = template()
    resources = data["Resources"]
    sweep = resources["Responder"]["Properties"]["Events"]["ApprovalSweep"]["Properties"]
    assert sweep["Schedule"] == "rate(1 minute)"
    assert json.loads(sweep["Input"]) == SWEEP_EVENT
    assert resources["ResponderUrl"]["Condition"] == "HasApprovals"
    assert resources["ResponderUrl"]["Properties"]["AuthType"] == "NONE"
    assert data["Parameters"]["SlackSigningSecret"]["NoEcho"] is True
    assert data["Outputs"]["SlackInteractivityUrl"]["Value"]["Sub"].endswith(
        "slack/interactions")
