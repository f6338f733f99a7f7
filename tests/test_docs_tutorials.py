"""The tutorials' marked code blocks, run (the ones that need AWS run in tests/aws/)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from falco_response import aws_lambda

from .docs_blocks import ROOT, block, marked_blocks

BIN = str(Path(sys.executable).parent)


def sh(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-euo", "pipefail", "-c", code], cwd=ROOT, text=True,
                          capture_output=True, timeout=120,
                          env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", **env})


def test_every_marker_names_a_test_that_exists_and_reads_its_page() -> None:
    blocks = marked_blocks()
    assert {b.page for b in blocks} >= {
        "getting-started.md", "tutorials/eks-lambda.md", "tutorials/in-cluster-mtls.md",
        "tutorials/custom-lambda-handler.md", "tutorials/plugin.md"}
    for b in blocks:
        test = ROOT / b.test
        assert test.is_file(), f"{b.page}: marker names {b.test}, which does not exist"
        assert b.page in test.read_text(), f"{b.test} never reads {b.page}"


def test_getting_started_handle_block() -> None:
    done = sh(block("getting-started.md", "sh"))
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    first = lines[0]
    assert first["rule"] == "Terminal shell in container"
    assert first["outcomes"][0]["response"] == "shells-in-containers"
    assert first["outcomes"][0]["action"] == "record-critical"
    assert {o["status"] for line in lines for o in line.get("outcomes", [])} == {"dry_run"}


def test_eks_tutorial_filter_policy_block_prints_what_the_page_says() -> None:
    page = (ROOT / "docs" / "tutorials" / "eks-lambda.md").read_text()
    done = sh(block("tutorials/eks-lambda.md", "sh"))
    assert done.returncode == 0, done.stderr
    policy = done.stdout.strip()
    assert policy == ('{"priority": ["Emergency", "Alert", "Critical", "Error", "Warning", '
                      '"Notice"]}')
    assert f"prints `{policy}`" in " ".join(page.split())


def test_eks_tutorial_config_is_the_deployed_one() -> None:
    page = (ROOT / "docs" / "tutorials" / "eks-lambda.md").read_text()
    shown = yaml.safe_load(page.split("```yaml\n", 1)[1].split("```", 1)[0])
    deployed = yaml.safe_load((ROOT / "deploy" / "aws" / "falco-response.yaml").read_text())
    deployed.pop("settings", None)
    assert shown == deployed


def subset(part: Any, whole: Any, where: str = "") -> None:
    if isinstance(part, dict):
        assert isinstance(whole, dict), where
        for key, value in part.items():
            assert key in whole, f"{where}.{key} is not in the values file"
            subset(value, whole[key], f"{where}.{key}")
    else:
        assert part == whole, where


def test_mtls_tutorial_values_are_the_deployed_ones() -> None:
    shown = yaml.safe_load(block("tutorials/in-cluster-mtls.md", "yaml"))
    values = yaml.safe_load((ROOT / "deploy" / "kubernetes" / "falco-values.yaml").read_text())
    subset(shown, values)
    assert shown["falco"]["http_output"]["mtls"] is True


@pytest.fixture
def lambda_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    aws_lambda.reset()
    config = tmp_path / "falco-response.yaml"
    config.write_text(block("tutorials/custom-lambda-handler.md", "yaml"))
    monkeypatch.setenv("FALCO_RESPONSE_CONFIG", str(config))
    monkeypatch.setenv("FALCO_RESPONSE_LOG_LEVEL", "error")
    for name in ("FALCO_RESPONSE_STORE", "FALCO_RESPONSE_DRY_RUN"):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path
    aws_lambda.reset()
    sys.modules.pop("my_handler", None)


def test_custom_lambda_handler_tutorial_runs(lambda_dir: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    handler_code = block("tutorials/custom-lambda-handler.md", "python", 0)
    own_lines = [line for line in handler_code.splitlines()
                 if line.strip() and not line.lstrip().startswith("#")]
    assert len(own_lines) <= 16  # "ten lines of your own" plus imports and delegation
    module = types.ModuleType("my_handler")
    sys.modules["my_handler"] = module
    exec(compile(handler_code, "custom-lambda-handler.md", "exec"), module.__dict__)
    exec(compile(block("tutorials/custom-lambda-handler.md", "python", 1),
                 "custom-lambda-handler.md", "exec"), {})
    assert capsys.readouterr().out.strip() == "ticket opened ['Terminal shell in container']"
    page = (ROOT / "docs" / "tutorials" / "custom-lambda-handler.md").read_text()
    assert "prints `ticket opened ['Terminal shell in container']`" in page


def test_custom_lambda_handler_honours_dry_run(lambda_dir: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FALCO_RESPONSE_DRY_RUN", "1")
    module = types.ModuleType("my_handler")
    sys.modules["my_handler"] = module
    exec(compile(block("tutorials/custom-lambda-handler.md", "python", 0),
                 "custom-lambda-handler.md", "exec"), module.__dict__)
    alert = {"time": "2026-11-26T20:00:00Z", "rule": "Terminal shell in container",
             "priority": "Critical", "output": "x", "output_fields": {}}
    answer = module.handler(alert)
    (outcome,) = answer["results"][0]["outcomes"]
    assert outcome["status"] == "dry_run"
    assert outcome["reason"] == "would open a ticket for 'Terminal shell in container'"
    assert module.tickets == []
