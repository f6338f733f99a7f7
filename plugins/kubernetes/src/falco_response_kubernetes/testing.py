"""Test helpers for Kubernetes plugins: pytest fixtures (import them into a conftest),
alert builders, schema validation, and RBAC checks. Needs the ``test`` extra."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .kmock_cluster import (EVENTS, NAMESPACES, NETPOLS, NODES, PODS, KmockCluster,
                            realistic_pod, status_body)

__all__ = [
    "EVENTS", "NAMESPACES", "NETPOLS", "NODES", "PODS", "KmockCluster", "alert", "cid",
    "cluster", "cluster_role_permissions", "container_alert", "engine_for", "kubeconfig",
    "outcome_of", "permission_of", "pod_alert", "realistic_pod", "status_body", "validate",
]


VALIDATE_VERSION = "1.36.0"


@pytest.fixture
def cluster() -> Any:
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
    return cluster.kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def engine_for(kubeconfig: str) -> Callable[..., Any]:
    """``engine_for("delete-pod", {...})``: a real Engine (plugins from entry points) with one
    response running that action type against the kmock cluster."""
    from falco_response import Engine

    # The official client takes seconds to import on a loaded machine: import it here, in the
    # fixture's setup, so the first action's run is not charged for it against action_timeout.
    import kubernetes.client  # noqa: F401

    def build(action_type: str, params: dict[str, Any] | None = None, *,
              dry_run: bool = False, settings: dict[str, Any] | None = None) -> Any:
        with_ = {"cluster": {"kubeconfig": kubeconfig}, "timeout_seconds": 2, **(params or {})}
        config = {
            "version": 1,
            "settings": {"action_timeout": "8s", **(settings or {})},
            "actions": {"act": {"type": action_type, "with": with_}},
            "responses": [{"name": "contain", "actions": ["act"]}],
        }
        return Engine.from_config(config, dry_run=dry_run)

    return build


def alert(output_fields: dict[str, Any] | None = None, *, hostname: str | None = "node-a",
          rule: str = "Terminal shell in container", source: str = "syscall") -> dict[str, Any]:
    data: dict[str, Any] = {
        "time": "2026-11-26T13:44:05.478445995Z", "rule": rule, "priority": "Critical",
        "source": source, "output": f"{rule} (...)", "tags": ["container", "shell"],
        "output_fields": output_fields or {},
    }
    if hostname is not None:
        data["hostname"] = hostname
    return data


def pod_alert(namespace: str, name: str, **kwargs: Any) -> dict[str, Any]:
    return alert({"k8s.ns.name": namespace, "k8s.pod.name": name,
                  "container.id": "ee97d9c4186f"}, **kwargs)


def container_alert(container_id: str, **kwargs: Any) -> dict[str, Any]:
    return alert({"container.id": container_id, "proc.name": "sh"}, **kwargs)


def outcome_of(engine: Any, payload: dict[str, Any]) -> Any:
    results = engine.handle(payload)
    assert len(results) == 1 and results[0].error is None, results
    assert len(results[0].outcomes) == 1, results[0].outcomes
    return results[0].outcomes[0]


def validate(obj: dict[str, Any]) -> None:
    """Schema-check an object we sent (kmock itself validates nothing)."""
    import kubernetes_validate

    kubernetes_validate.validate(obj, VALIDATE_VERSION, strict=True)


def cid(n: int, salt: str = "a") -> str:
    """A 64-hex container id, distinct per ``n``."""
    import hashlib

    return hashlib.sha256(f"{salt}-{n}".encode()).hexdigest()


_VERBS = {"POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}


def permission_of(request: Any) -> tuple[str, str, str]:
    """(apiGroup, resource[/subresource], RBAC verb) that an API request needs."""
    parts = request.url.path.strip("/").split("/")
    group, rest = ("", parts[2:]) if parts[0] == "api" else (parts[1], parts[3:])
    if rest[0] == "namespaces" and len(rest) >= 3:
        rest = rest[2:]
    resource = rest[0] + (f"/{rest[2]}" if len(rest) > 2 else "")
    http = getattr(request.method, "value", request.method)
    verb = ("get" if len(rest) > 1 else "list") if http == "GET" else _VERBS[http]
    return group, resource, verb


def cluster_role_permissions(path: Path) -> set[tuple[str, str, str]]:
    import yaml

    role = yaml.safe_load(path.read_text())
    validate(role)
    return {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"]
            for r in rule["resources"] for v in rule["verbs"]}
