"""Fixtures live in approval_support.py (a unique module name); ``ca``, ``ca_bundle`` and
the TLS ``receiver`` come from the falco-response-testing kit (its pytest plugin)."""

from approval_support import slack  # noqa: F401
from falco_response_testing.kubernetes import cluster, kubeconfig  # noqa: F401


import sys  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

sys.path.insert(0, str(Path(__file__).parents[1] / "redis"))

from redis_server import RedisServer  # noqa: E402


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server for the module; each use gets its own key prefix."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield f"{server.url}?prefix=t-{uuid.uuid4().hex[:8]}:"
    finally:
        server.stop()
