"""The EKS tutorial's build step (docs/tutorials/eks-lambda.md), its exact command run in a
fresh clone with the core installed from a wheel (not editable): the zip is built from the
clone's sources, plugin-to-plugin dependencies included, and nothing asks the index for a
falco-response distribution. Needs PyPI for the third-party wheels, as Lambda builds do."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from falco_response.aws_lambda.packaging import requirements

from ..docs_blocks import ROOT, block
from ..fresh_clone import lone_clone

PAGE = "tutorials/eks-lambda.md"


def test_plugin_dependencies_are_found_in_the_checkout() -> None:
    local, remote = requirements(["delete-pod"], ROOT, with_boto3=False)
    assert [p.name for p in local] == [ROOT.name, "delete-pod", "kubernetes"]
    assert remote == []


def test_a_plugin_directory_finds_its_sibling_dependencies() -> None:
    local, _ = requirements([str(ROOT / "plugins" / "taint-node")], ROOT, with_boto3=False)
    assert {p.name for p in local[1:]} == {"taint-node", "kubernetes"}


def test_the_tutorials_package_command_works_in_a_fresh_clone(tmp_path: Path) -> None:
    clone = lone_clone(tmp_path)
    command = block(PAGE, "sh", 1)
    assert command.startswith("falco-response package-lambda --plugins slack,delete-pod,")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    started = time.monotonic()
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=900)
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    assert "falco-response==" not in done.stderr  # the core came from the clone
    output = clone / "deploy" / "aws" / "fn.zip"
    names = zipfile.ZipFile(output).namelist()
    for package in ("falco_response/", "falco_response_slack/", "falco_response_delete_pod/",
                    "falco_response_taint_node/", "falco_response_kubernetes/", "kubernetes/",
                    "slack_sdk/"):
        assert any(n.startswith(package) for n in names), package
    assert "falco-response.yaml" in names
    print(f"\n[package-lambda, EKS tutorial] {took:.0f} s, {done.stdout.strip()}")
    page = (ROOT / "docs" / PAGE).read_text()
    assert "MiB zip" in page and "unzipped" in page  # the tutorial says what to expect
