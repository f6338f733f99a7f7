"""The recorder test plugin (``tests/server/recorder_plugin.py``) made visible to a child
process as an installed distribution would be: a site directory with its dist-info declaring
the ``falco_response`` entry point, on the child's ``PYTHONPATH``."""

from __future__ import annotations

import os
from pathlib import Path

SERVER_TESTS = Path(__file__).resolve().parent / "server"


def recorder_site(root: Path) -> Path:
    """Write ``root/site`` with the recorder's dist-info; return that directory."""
    site = root / "site"
    dist = site / "falco_response_recorder-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: falco-response-recorder\n"
                                   "Version: 0.1\n")
    (dist / "entry_points.txt").write_text("[falco_response]\nrecorder = recorder_plugin\n")
    return site


def recorder_env(root: Path) -> dict[str, str]:
    """This process's environment, plus what a ``falco-response`` child needs to load the
    recorder plugin through entry points; its logs at ``warning``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(recorder_site(root)), str(SERVER_TESTS),
                                         env.get("PYTHONPATH", "")])
    env["FALCO_RESPONSE_LOG_LEVEL"] = "warning"
    return env
