"""`audit` and `pause|resume` find the state store the same way: ``--store``, else the
config's ``settings.store``; a config that names none is a config error saying so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from falco_response.cli import main
from falco_response.state.sqlite import SQLiteStore


def write_config(tmp_path: Path, store: str | None) -> str:
    settings = {"store": store} if store else {}
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps({"version": 1, "settings": settings,
                                "responses": [{"name": "r", "actions": [{"type": "log"}]}]}))
    return str(path)


@pytest.mark.parametrize("command", [["audit"], ["pause", "--reason", "INC-1", "--as", "x"],
                                     ["resume"]])
def test_a_config_without_a_store_is_a_config_error(tmp_path: Path, capsys: Any,
                                                    command: list[str]) -> None:
    assert main([*command, "--config", write_config(tmp_path, None)]) == 3
    assert ("error: the config names no settings.store (pass --store URL)"
            in capsys.readouterr().err)


def test_both_read_the_configs_store(tmp_path: Path, capsys: Any) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    SQLiteStore(tmp_path / "s.db").close()
    config = write_config(tmp_path, url)
    assert main(["pause", "--config", config, "--reason", "INC-2", "--as", "carol"]) == 0
    assert "INC-2" in capsys.readouterr().out
    assert main(["audit", "--config", config]) == 0
    assert "0 record(s) since 24h ago" in capsys.readouterr().out
    store = SQLiteStore(tmp_path / "s.db")
    try:
        assert store.pauses()["*"].by == "carol"
    finally:
        store.close()


def test_store_option_wins_over_the_config(tmp_path: Path, capsys: Any) -> None:
    missing = f"sqlite:///{tmp_path / 'nowhere.db'}"
    config = write_config(tmp_path, None)
    assert main(["pause", "--config", config, "--store", missing, "--reason", "r",
                 "--as", "x"]) == 3
    assert "engines create the store when they start" in capsys.readouterr().err
    assert main(["audit", "--config", config, "--store", missing]) == 3
    assert "nowhere.db" in capsys.readouterr().err
    assert not (tmp_path / "nowhere.db").exists()
