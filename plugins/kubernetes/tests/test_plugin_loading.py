"""A config that uses no Kubernetes action type never imports a Kubernetes plugin (they
declare their types in the ``falco_response.actions`` entry-point group)."""

from __future__ import annotations

import json
import subprocess
import sys

K8S_MODULES = {"falco_response_delete_pod", "falco_response_taint_node",
               "falco_response_kubernetes", "kubernetes"}
BUILD = """
import json, sys
from falco_response import Engine
engine = Engine.from_config({{"version": 1, "responses": [
    {{"name": "r", "actions": [{{"type": {kind!r}}}]}}]}})
print(json.dumps([sorted(engine.config.responses[0].actions[0].type.name for _ in [0]),
                  sorted(m for m in sys.modules if m.split(".")[0] in {modules!r})]))
"""


def build(kind: str) -> tuple[list[str], set[str]]:
    out = subprocess.run([sys.executable, "-c", BUILD.format(kind=kind, modules=K8S_MODULES)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    types, modules = json.loads(out.stdout.strip().splitlines()[-1])
    return types, {m.split(".")[0] for m in modules}


def test_a_log_only_config_imports_no_kubernetes_plugin() -> None:
    types, modules = build("log")
    assert types == ["log"] and modules == set()


def test_a_config_imports_only_the_plugin_of_the_type_it_uses() -> None:
    types, modules = build("cordon-node")
    assert types == ["cordon-node"]
    assert "falco_response_taint_node" in modules and "falco_response_delete_pod" not in modules
    assert "kubernetes" not in modules  # the client itself waits for the first action
