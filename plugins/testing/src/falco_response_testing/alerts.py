"""Alert builders and an engine built around one action type, for a plugin's tests."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from falco_response import ActionContext, Engine, Outcome, hookimpl

ALERT: dict[str, Any] = {
    "hostname": "ip-10-0-1-5",
    "output": "13:44:05.478445995: Critical A shell was spawned in a container with an attached "
              "terminal (user=root k8s.ns=payments k8s.pod=api-7f9 container=ee97d9c4186f "
              "shell=sh parent=runc cmdline=sh -c clear)",
    "priority": "Critical",
    "rule": "Terminal shell in container",
    "source": "syscall",
    "tags": ["container", "mitre_execution", "shell"],
    "time": "2023-05-25T13:44:05.478445995Z",
    "uuid": "5f5a7c1e-2d7b-4a4e-9a3c-0c1d2e3f4a5b",
    "output_fields": {
        "container.id": "ee97d9c4186f",
        "container.image.repository": "docker.io/library/alpine",
        "container.image.tag": "3.19",
        "evt.time": 1685022245478445995,
        "k8s.ns.name": "payments",
        "k8s.pod.name": "api-7f9",
        "proc.cmdline": "sh -c clear",
        "proc.name": "sh",
        "proc.pname": "runc",
        "user.name": "root",
        "fd.name": "/etc/shadow",
    },
}
"""A Falco alert (Terminal shell in container, pod payments/api-7f9 on node ip-10-0-1-5)."""


def alert(**fields: Any) -> dict[str, Any]:
    """A copy of :data:`ALERT` with output fields changed (``k8s__pod__name="x"`` sets
    ``k8s.pod.name``) or top-level keys, prefixed ``top_`` (``top_priority="Warning"``)."""
    data = copy.deepcopy(ALERT)
    for key, value in fields.items():
        if key.startswith("top_"):
            data[key[4:]] = value
        else:
            data["output_fields"][key.replace("__", ".")] = value
    return data


class Containment:
    """Stand-in containment actions (``test-delete`` succeeds, ``test-taint`` is a dry run),
    so the action under test has earlier outcomes to report."""

    @hookimpl
    def register_actions(self, register: Any) -> None:
        def delete(_params: Any) -> Any:
            def run(ctx: ActionContext) -> Outcome:
                return ctx.ok(target=f"pod:{ctx.alert.pod_namespace}/{ctx.alert.pod_name}",
                              reason="deleted")
            return run

        def taint(_params: Any) -> Any:
            def run(ctx: ActionContext) -> Outcome:
                return ctx.would(f"would taint node {ctx.alert.node_name}",
                                 target=f"node:{ctx.alert.node_name}")
            return run

        register("test-delete", delete, destructive=True)
        register("test-taint", taint, destructive=True)


def engine_with(action_type: str, with_: dict[str, Any], *, name: str = "under-test",
                before: Sequence[dict[str, Any] | str] = (), dry_run: bool = False,
                settings: dict[str, Any] | None = None, plugins: Sequence[Any] = (),
                entry_points: bool = True) -> Engine:
    """An engine (installed plugins unless ``entry_points=False``, ``plugins``, and
    :class:`Containment`) whose one response, matching :data:`ALERT`'s rule, runs ``before``
    then the action ``name`` of type ``action_type``."""
    config = {
        "version": 1,
        "settings": settings or {},
        "actions": {name: {"type": action_type, "with": with_}},
        "responses": [{"name": "contain-shells", "match": {"rule": ALERT["rule"]},
                       "actions": [*before, name]}],
    }
    return Engine.from_config(config, plugins=[Containment(), *plugins], dry_run=dry_run,
                              entry_points=entry_points)
