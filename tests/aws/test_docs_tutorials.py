"""The EKS tutorial's filter-policy rehearsal (docs/tutorials/eks-lambda.md), run as written
against moto server on 127.0.0.1: the generated policy lets the shell alert through and
filters out falcosidekick's test alert."""

from __future__ import annotations

import pytest

from ..docs_blocks import ROOT, block


def test_eks_tutorial_rehearsal_block(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    code = block("tutorials/eks-lambda.md", "python")
    exec(compile(code, "tutorials/eks-lambda.md", "exec"), {})
    assert capsys.readouterr().out.strip() == "['Terminal shell in container']"
    page = (ROOT / "docs" / "tutorials" / "eks-lambda.md").read_text()
    assert "prints `['Terminal shell in container']`" in page
