"""The runtime packages carry no test code: importing every module of the Kubernetes plugins
loads neither pytest nor kmock (the emulator and fixtures live in falco-response-testing), and
no source line imports them, not even inside a function."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from importlib import import_module
from pathlib import Path

RUNTIME = ["falco_response_kubernetes", "falco_response_delete_pod", "falco_response_taint_node"]
TEST_ONLY = ("pytest", "_pytest", "kmock", "kubernetes_validate", "falco_response_testing")

IMPORT_ALL = """
import importlib, json, pkgutil, sys
loaded = []
for name in sys.argv[1:]:
    package = importlib.import_module(name)
    loaded.append(name)
    for info in pkgutil.walk_packages(package.__path__, name + "."):
        importlib.import_module(info.name)
        loaded.append(info.name)
print(json.dumps({"loaded": loaded, "modules": sorted(sys.modules)}))
"""


def _is_test_only(module: str) -> bool:
    return any(module == top or module.startswith(top + ".") for top in TEST_ONLY)


def test_importing_every_runtime_module_loads_no_test_code() -> None:
    done = subprocess.run([sys.executable, "-c", IMPORT_ALL, *RUNTIME], capture_output=True,
                          text=True, timeout=120, check=True)
    report = json.loads(done.stdout)
    assert {"falco_response_kubernetes.targets", "falco_response_delete_pod.delete",
            "falco_response_taint_node.taint"} <= set(report["loaded"])
    assert [m for m in report["modules"] if _is_test_only(m)] == []


def test_the_check_sees_a_test_import() -> None:
    """The subprocess check is real: the same script with the kit's module loads kmock."""
    done = subprocess.run([sys.executable, "-c", IMPORT_ALL, "falco_response_testing.kubernetes"],
                          capture_output=True, text=True, timeout=120, check=True)
    assert {"kmock", "pytest"} <= set(json.loads(done.stdout)["modules"])


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_no_runtime_source_imports_test_code_even_lazily() -> None:
    offenders = {}
    for name in RUNTIME:
        folder = Path(import_module(name).__file__ or "").parent
        for path in sorted(folder.rglob("*.py")):
            bad = sorted(m for m in _imported(path) if _is_test_only(m))
            if bad:
                offenders[f"{name}/{path.relative_to(folder)}"] = bad
    assert offenders == {}
