"""What a Kubernetes plugin's tests check beyond kmock: objects we send are schema-valid
(kubernetes-validate; kmock validates nothing), the RBAC a request needs is what the shipped
ClusterRole grants, and an engine handled one alert into one outcome."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from falco_response import Engine, Outcome

VALIDATE_VERSION = "1.36.0"
_VERBS = {"POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}


def validate(obj: dict[str, Any]) -> None:
    """Schema-check an object (strict: unknown fields fail) against Kubernetes 1.36."""
    import kubernetes_validate  # type: ignore[import-untyped]

    kubernetes_validate.validate(obj, VALIDATE_VERSION, strict=True)


def outcome_of(engine: Engine, payload: dict[str, Any]) -> Outcome:
    """The one outcome of handling ``payload``, which must be one alert matching one action."""
    results = engine.handle(payload)
    assert len(results) == 1 and results[0].error is None, results
    assert len(results[0].outcomes) == 1, results[0].outcomes
    return results[0].outcomes[0]


def permission_of(request: Any) -> tuple[str, str, str]:
    """(apiGroup, resource[/subresource], RBAC verb) that a recorded API request needs."""
    parts = request.url.path.strip("/").split("/")
    group, rest = ("", parts[2:]) if parts[0] == "api" else (parts[1], parts[3:])
    if rest[0] == "namespaces" and len(rest) >= 3:
        rest = rest[2:]
    resource = rest[0] + (f"/{rest[2]}" if len(rest) > 2 else "")
    http = getattr(request.method, "value", request.method)
    verb = ("get" if len(rest) > 1 else "list") if http == "GET" else _VERBS[http]
    return group, resource, verb


def cluster_role_permissions(path: Path) -> set[tuple[str, str, str]]:
    """Every (apiGroup, resource, verb) a ClusterRole manifest grants (validated first)."""
    role = yaml.safe_load(path.read_text())
    validate(role)
    return {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"]
            for r in rule["resources"] for v in rule["verbs"]}
