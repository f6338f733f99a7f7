"""A Lambda zip's plugin manifest records the action types each plugin declares, so the
handler imports only the plugins its config uses (and every undeclared one)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from falco_response.aws_lambda.config_source import PLUGIN_MANIFEST, packaged_plugins


@pytest.fixture
def zip_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("zipplug_k8s", "zipplug_chat", "zipplug_old"):
        (tmp_path / f"{name}.py").write_text("LOADED = True\n")
        sys.modules.pop(name, None)
    (tmp_path / PLUGIN_MANIFEST).write_text(json.dumps({
        "entry_points": {"k8s": "zipplug_k8s", "chat": "zipplug_chat", "old": "zipplug_old"},
        "action_types": {"k8s": ["delete-pod", "isolate-pod"], "chat": ["chat"]}}))
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def names(plugins: list[object] | None) -> set[str]:
    return {p.__name__ for p in plugins or ()}  # type: ignore[attr-defined]


def test_only_the_used_and_the_undeclared_plugins_are_imported(zip_root: Path) -> None:
    assert names(packaged_plugins({"chat", "log"})) == {"zipplug_chat", "zipplug_old"}
    assert "zipplug_k8s" not in sys.modules


def test_an_unknown_type_or_no_types_loads_every_plugin(zip_root: Path) -> None:
    assert names(packaged_plugins({"chatt"})) == {"zipplug_k8s", "zipplug_chat", "zipplug_old"}
    assert len(names(packaged_plugins(None))) == 3


def test_an_old_manifest_without_action_types_still_loads_everything(zip_root: Path) -> None:
    manifest = zip_root / PLUGIN_MANIFEST
    data = json.loads(manifest.read_text())
    del data["action_types"]
    manifest.write_text(json.dumps(data))
    assert len(names(packaged_plugins({"log"}))) == 3


def test_the_packager_records_what_each_distribution_declares(tmp_path: Path) -> None:
    from falco_response.aws_lambda.packaging import _write_manifest

    for dist, body in (("chat", "[falco_response]\nchat = zipplug_chat\n\n"
                                "[falco_response.actions]\nchat = zipplug_chat\n"),
                       ("old", "[falco_response]\nold = zipplug_old\n")):
        info = tmp_path / f"falco_response_{dist}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: falco-response-{dist}\n"
                                       "Version: 1.0\n")
        (info / "entry_points.txt").write_text(body)
    _write_manifest(tmp_path)
    manifest = json.loads((tmp_path / PLUGIN_MANIFEST).read_text())
    assert manifest == {"entry_points": {"chat": "zipplug_chat", "old": "zipplug_old"},
                        "action_types": {"chat": ["chat"]}}
