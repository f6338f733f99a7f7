"""pytest fixtures for Kubernetes plugins, imported into a conftest (they need the
``kubernetes`` extra, so the kit's always-loaded pytest plugin does not carry them)::

    from falco_response_testing.kubernetes import cluster, engine_for, kubeconfig  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from falco_response import Engine

from .cluster import KmockCluster


@pytest.fixture
def cluster() -> Iterator[KmockCluster]:
    """A fresh kmock cluster per test, with namespaces default and kube-system."""
    running = KmockCluster().start()
    running.add_namespace("default")
    running.add_namespace("kube-system")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def kubeconfig(cluster: KmockCluster, tmp_path: Path) -> str:
    """A kubeconfig file (token auth) pointing at ``cluster``."""
    return cluster.kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def engine_for(kubeconfig: str) -> Callable[..., Engine]:
    """``engine_for("delete-pod", {...})``: a real Engine (plugins from entry points) with one
    response running that action type against the kmock cluster."""
    # The official client takes seconds to import on a loaded machine: import it here, in the
    # fixture's setup, so the first action's run is not charged for it against action_timeout.
    import kubernetes.client  # type: ignore[import-untyped]  # noqa: F401

    def build(action_type: str, params: dict[str, Any] | None = None, *,
              dry_run: bool = False, settings: dict[str, Any] | None = None) -> Engine:
        with_ = {"cluster": {"kubeconfig": kubeconfig}, "timeout_seconds": 2, **(params or {})}
        config = {
            "version": 1,
            "settings": {"action_timeout": "8s", **(settings or {})},
            "actions": {"act": {"type": action_type, "with": with_}},
            "responses": [{"name": "contain", "actions": ["act"]}],
        }
        return Engine.from_config(config, dry_run=dry_run)

    return build
