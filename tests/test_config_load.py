"""Loading large configs: JSON text takes the fast reader, flow-style YAML still works, and
the paused garbage collector is always given back as it was."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from falco_response import ConfigError, Engine

CONFIG = {"version": 1, "responses": [
    {"name": "shells", "match": {"rule": "Terminal shell *", "fields": {"user.uid": 0}},
     "actions": [{"type": "log"}]}]}


@pytest.mark.parametrize("name, text", [
    ("config.json", json.dumps(CONFIG)),
    ("config.yaml", json.dumps(CONFIG, indent=2)),
    ("flow.yaml", "{version: 1, responses: [{name: shells, match: {rule: 'Terminal shell *', "
                  "fields: {user.uid: 0}}, actions: [{type: log}]}]}"),
])
def test_json_and_yaml_spellings_load_the_same(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    engine = Engine.from_config(path, entry_points=False)
    assert [r.name for r in engine.config.responses] == ["shells"]
    assert engine.config.spec.responses[0].match.rule == "Terminal shell *"


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_left_as_it_was(tmp_path: Path, enabled: bool) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nresponses: [{name: x, actions: [{type: nope}]}]\n")
    (gc.enable if enabled else gc.disable)()
    try:
        Engine.from_config(CONFIG, entry_points=False)
        with pytest.raises(ConfigError):
            Engine.from_config(path, entry_points=False)
        assert gc.isenabled() is enabled
    finally:
        gc.enable()
