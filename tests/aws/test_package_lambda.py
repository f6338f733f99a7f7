"""``package-lambda``: the zip it builds, unpacked into a clean directory, imports and handles
every sample event in a Python that sees nothing but that directory (and the standard library).

Needs PyPI (pip downloads the manylinux wheels of the dependencies), like Lambda builds do.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from falco_response.aws_lambda.packaging import PackagingError, build
from falco_response.cli import main

from .conftest import LOG_ALL, ROOT, SAMPLES

ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[
    platform.machine().lower()]
LOCAL_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"

RUN_IN_ZIP = r"""
import json, sys
root = sys.argv[1]
sys.path.insert(0, root)
from falco_response.aws_lambda import handler, init
import falco_response
assert falco_response.__file__.startswith(root), falco_response.__file__
replies = {}
for path in sys.argv[2:]:
    with open(path) as f:
        replies[path.rsplit("/", 1)[-1]] = handler(json.load(f), None)
heavy = sorted(m for m in ("boto3", "botocore", "kubernetes", "slack_sdk", "importlib.metadata")
               if m in sys.modules)
print(json.dumps({"replies": replies, "plugins": init().engine.plugins.names(), "heavy": heavy,
                  "site": [p for p in sys.path if "site-packages" in p]}))
"""


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    work = tmp_path_factory.mktemp("package")
    config = work / "cfg.yaml"
    config.write_text(yaml.safe_dump(LOG_ALL))
    output = work / "fn.zip"
    code = main(["package-lambda", "--plugins", str(ROOT / "tests" / "example_plugin"),
                 "--config", str(config), "-o", str(output), "--arch", ARCH,
                 "--python", LOCAL_PYTHON, "--source", str(ROOT)])
    assert code == 0
    return output, work.name


def test_zip_contents(package: tuple[Path, str]) -> None:
    output, _ = package
    names = zipfile.ZipFile(output).namelist()
    assert "falco-response.yaml" in names
    manifest = json.loads(zipfile.ZipFile(output).read("falco-response-plugins.json"))
    # the example plugin declares no action types: it loads whatever the config uses
    assert manifest == {"entry_points": {"example": "falco_response_example"}, "action_types": {}}
    assert "falco_response/aws_lambda/handler.py" in names
    assert f"falco_response/aws_lambda/__pycache__/handler.cpython-{LOCAL_PYTHON.replace('.', '')}.pyc" in names
    assert any(n.startswith("falco_response_example-") and n.endswith("entry_points.txt")
               for n in names)
    assert any(n.startswith("msgspec/_core.cpython-") and n.endswith(".so") for n in names)
    junk = [n for n in names if n.startswith("bin/") or n.endswith("/RECORD")
            or "/tests/" in n or n.endswith("/INSTALLER") or n.endswith("direct_url.json")]
    assert junk == []
    assert not any(n.startswith(("boto3/", "botocore/", "kubernetes/")) for n in names)


def test_unpacked_zip_imports_and_handles_every_sample(package: tuple[Path, str],
                                                       tmp_path: Path) -> None:
    output, _ = package
    root = tmp_path / "task"
    zipfile.ZipFile(output).extractall(root)
    # The .pyc files are unchecked-hash ones: Python uses them without looking at the source,
    # so a cold start never recompiles (the code directory is read-only on Lambda). Prove it:
    # break a source file; the import still works from its .pyc.
    source = root / "falco_response" / "outcome.py"
    source.write_text("raise RuntimeError('source was read instead of the .pyc')\n")
    samples = sorted(str(p) for p in SAMPLES.glob("lambda-*.json"))
    env = {"LAMBDA_TASK_ROOT": str(root), "FALCO_RESPONSE_LOG_LEVEL": "error",
           "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", RUN_IN_ZIP, str(root), *samples],
                          capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report: dict[str, Any] = json.loads(proc.stdout)
    assert report["site"] == []
    # plugins come from the zip's manifest of entry points: no distribution scan, so
    # importlib.metadata (and the email package it pulls in) stays out of the cold start
    assert report["heavy"] == []
    assert "falco_response_example" in report["plugins"]
    assert len(report["replies"]) == len(samples) >= 4
    for name, reply in report["replies"].items():
        if "batchItemFailures" in reply:
            assert reply == {"batchItemFailures": []}, name
        else:
            assert [o["status"] for r in reply["results"] for o in r["outcomes"]] == ["ok"], name

    env["FALCO_RESPONSE_DISABLE_PLUGINS"] = "example"
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", RUN_IN_ZIP, str(root), samples[0]],
                          capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "falco_response_example" not in json.loads(proc.stdout)["plugins"]


def test_pyc_files_are_unchecked_hash(package: tuple[Path, str]) -> None:
    output, _ = package
    with zipfile.ZipFile(output) as archive:
        pycs = [n for n in archive.namelist() if n.endswith(".pyc")]
        assert len(pycs) > 50
        for name in pycs[:20]:
            flags = int.from_bytes(archive.read(name)[4:8], "little")
            assert flags == 0b01, name  # hash-based, check_source off


def test_other_python_without_its_interpreter_fails_clearly(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]
                                                            ) -> None:
    other = "3.13" if LOCAL_PYTHON != "3.13" else "3.12"
    code = main(["package-lambda", "-o", str(tmp_path / "x.zip"), "--python", other,
                 "--compile-with", "", "--source", str(ROOT)])
    err = capsys.readouterr().err
    if code == 0:  # a python3.13 is installed here: it compiled with it
        assert (tmp_path / "x.zip").exists()
        return
    assert code == 3
    assert f"cannot byte-compile for Python {other}" in err
    assert f"--python {LOCAL_PYTHON}" in err


def test_past_the_unzipped_limit_fails_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(PackagingError, match="over Lambda's limit"):
        build(output=tmp_path / "big.zip", source=ROOT, arch=ARCH, python=LOCAL_PYTHON,
              limit_bytes=100_000)
    assert not (tmp_path / "big.zip").exists()
