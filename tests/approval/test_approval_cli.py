"""``falco-response approvals``, ``approve ID --as NAME``, ``deny ID --as NAME``, and the
approval steps in ``falco-response audit``, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from falco_response import Engine
from falco_response_testing.kubernetes import PODS

from approval_support import alert_for, config, web_pod


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = Path(sys.executable).parent / "falco-response"
    return subprocess.run([str(command), *args], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "FALCO_RESPONSE_LOG_LEVEL": "error"})


def setup(tmp_path: Path, kubeconfig: str, slack: Any, ca_bundle: str) -> tuple[Path, Engine]:
    data = config(kubeconfig, slack, ca_bundle, f"sqlite://{tmp_path}/state.db")
    path = tmp_path / "falco-response.yaml"
    path.write_text(yaml.safe_dump(data))
    return path, Engine.from_config(data)


def request(engine: Engine) -> str:
    (result,) = engine.handle(alert_for())
    return str(result.outcomes[0].detail["approval"])


def test_list_approve_and_audit(tmp_path: Path, cluster: Any, kubeconfig: str, slack: Any,
                                ca_bundle: str) -> None:
    web_pod(cluster)
    path, engine = setup(tmp_path, kubeconfig, slack, ca_bundle)
    approval_id = request(engine)
    listed = cli("approvals", "--config", str(path), "--json")
    assert listed.returncode == 0, listed.stderr
    (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (row["id"], row["state"], row["target"]) == (approval_id, "pending",
                                                        "pod:default/web-1")
    assert row["planned"] == "would DELETE pod default/web-1 (grace 0s)"
    table = cli("approvals", "--config", str(path))
    assert approval_id in table.stdout and "1 approval request(s) pending" in table.stdout

    approved = cli("approve", approval_id, "--as", "alice", "--config", str(path), "--json")
    assert approved.returncode == 0, approved.stderr
    outcome = json.loads(approved.stdout)
    assert outcome["status"] == "ok"
    assert outcome["reason"].startswith("approved by cli:alice (cli) at ")
    assert cluster.obj(PODS, "default", "web-1") is None
    assert [r.url.path for r in cluster.writes()] == ["/api/v1/namespaces/default/pods/web-1"]

    again = cli("deny", approval_id, "--as", "bob", "--config", str(path))
    assert again.returncode == 1 and "already decided (approved) by cli:alice" in again.stderr
    assert "0 approval request(s) pending" in cli("approvals", "--config", str(path)).stdout

    audit = cli("audit", "--config", str(path), "--json")
    steps = [json.loads(line) for line in audit.stdout.splitlines()]
    assert [(s["status"], s["approval"]) for s in steps] == [
        ("pending", approval_id), ("decided:approve", approval_id), ("ok", approval_id)]
    assert "cli:alice" in steps[1]["reason"]


def test_deny_from_the_cli(tmp_path: Path, cluster: Any, kubeconfig: str, slack: Any,
                           ca_bundle: str) -> None:
    web_pod(cluster)
    path, engine = setup(tmp_path, kubeconfig, slack, ca_bundle)
    approval_id = request(engine)
    denied = cli("deny", approval_id, "--as", "bob", "--config", str(path))
    assert denied.returncode == 0, denied.stderr
    assert "skipped" in denied.stdout and "denied by cli:bob (cli)" in denied.stdout
    assert cluster.obj(PODS, "default", "web-1") is not None


def test_bad_ids_and_names(tmp_path: Path, kubeconfig: str, slack: Any,
                           ca_bundle: str) -> None:
    path, _ = setup(tmp_path, kubeconfig, slack, ca_bundle)
    assert cli("approve", "nope", "--as", "a", "--config", str(path)).returncode == 2
    assert cli("approve", "0" * 32, "--as", "a b", "--config", str(path)).returncode == 2
    missing = cli("approve", "0" * 32, "--as", "alice", "--config", str(path))
    assert missing.returncode == 2 and "no such approval" in missing.stderr
