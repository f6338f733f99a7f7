"""Rendering the console's pages: one Jinja2 environment, autoescaping on (alert text is
attacker-written), undefined names an error rather than an empty string."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jinja2
from starlette.responses import HTMLResponse, Response

HERE = Path(__file__).parent

_env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                          autoescape=True, undefined=jinja2.StrictUndefined)


def when(ns: int | None) -> str:
    if not ns:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ns / 1e9)) + "Z"


_env.filters["when"] = when


def render(name: str, status: int = 200, **context: Any) -> Response:
    html = _env.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status)


def ctx(console: Any, op: Any, binding: str, active: str, **more: Any) -> dict[str, Any]:
    """What every signed-in page's template gets: the operator, the CSRF token, the nav."""
    return {"op": op, "csrf": console.auth.csrf_for(binding), "active": active,
            "approvals_on": console.approvals is not None, **more}
