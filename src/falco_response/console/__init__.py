"""The operator console: a web page to watch what the engine does, approve, pause and undo.

``falco-response console --store URL`` serves it against any store (so it works for Lambda
deployments too); ``serve --console-port N`` serves it beside intake, on its own listener.
Pages are rendered on the server (Jinja2, autoescaped: alert text is attacker-written); the
only script is ``static/console.js``, our own, allowed by a Content-Security-Policy that
forbids inline script. See ``docs/console.md``.
"""

from __future__ import annotations

from .app import build_app
from .context import Console
from .auth import Auth, Operator, load_operators, parse_operators

__all__ = ["Auth", "Console", "Operator", "build_app", "load_operators", "parse_operators"]
