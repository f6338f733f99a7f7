"""What taint-node and cordon-node share: finding the node and the checks before touching it."""

from __future__ import annotations

from typing import Any

from falco_response import ActionContext
from falco_response_kubernetes import Kube, Skip, check_node, meta, resolve_node

CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")
MAX_CONFLICTS = 5
CORDONED_BY = "falco-response.io/cordoned-by"
"""Set (to a random token kept in the audit record) when we cordon a node: undo uncordons
only a node that still carries our token."""


def new_token() -> str:
    import secrets

    return secrets.token_hex(8)


def fetch_node(ctx: ActionContext, kube: Kube, allow_control_plane: bool
               ) -> tuple[str, dict[str, Any], str]:
    """(node name, node object, how it was found), or :class:`Skip` saying why not."""
    name, resolved = resolve_node(kube, ctx.alert, ctx.settings)
    how = f"pod {resolved.namespace}/{resolved.name}" if resolved and resolved.pod else "hostname"
    node = kube.get_node(name)
    if node is None:
        raise Skip(f"node {name} not found", target=f"node:{name}")
    check_node(node, name)
    labels = meta(node).get("labels") or {}
    role = next((label for label in CONTROL_PLANE_LABELS if label in labels), None)
    if role is not None and not allow_control_plane:
        raise Skip(f"node {name} is a control-plane node (label {role}); set "
                   "allow_control_plane: true to allow it", target=f"node:{name}")
    return name, node, how
