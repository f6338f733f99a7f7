"""What the senders (Falco's ``http_output``, falcosidekick) need from the HTTP front: the paths
alerts are taken on, and refusals that tell the operator which setting to change.

- Falco's ``http_output.url`` may carry a path (``https://falco-response:8443/falco``):
  ``serve --intake-path /falco`` takes alerts there as well as on ``/``.
- falcosidekick's webhook output may use ``method: PUT``: PUT is taken as POST.
- Falco with ``json_output: false`` sends ``text/plain`` lines, which carry no fields to act on.
- falcosidekick's Talon output cannot send a header or a client certificate: only its webhook
  output can authenticate.
"""

from __future__ import annotations

from typing import Any

import msgspec

INTAKE_METHODS = ("POST", "PUT")
RESERVED_PATHS = frozenset({"/sns", "/healthz", "/readyz", "/metrics"})

TEXT_OUTPUT = ("Falco is sending text: set json_output: true in falco.yaml (the content type "
               "must be application/json)")
SIDEKICK_TALON = ("missing bearer token: falcosidekick's Talon output (talon.address) cannot "
                  "send a header or a client certificate, so it cannot authenticate here; "
                  "use its webhook output instead: webhook.address with "
                  "webhook.customheaders (Authorization: Bearer <token>) or "
                  "webhook.mutualtls: true")

_encode = msgspec.json.Encoder().encode


def intake_paths(extra: list[str] | tuple[str, ...] = ()) -> tuple[str, ...]:
    """``/`` and the ``--intake-path`` values, checked; ``ValueError`` says what is wrong."""
    paths = ["/"]
    for given in extra:
        path = given.strip()
        if not path.startswith("/") or any(c in path for c in "?#* \t"):
            raise ValueError(f"--intake-path {given!r}: a path starting with / (like /falco), "
                             "without query or wildcards")
        path = path.rstrip("/") or "/"
        if path in RESERVED_PATHS:
            raise ValueError(f"--intake-path {given!r}: {path} is one of the server's own "
                             f"paths ({', '.join(sorted(RESERVED_PATHS))})")
        if path not in paths:
            paths.append(path)
    return tuple(paths)


def with_trailing_slashes(paths: tuple[str, ...]) -> frozenset[str]:
    """The request paths an intake path answers: ``/falco`` also as ``/falco/``."""
    return frozenset(p for path in paths for p in {path, path.rstrip("/") + "/"})


def is_falcosidekick(user_agent: str | None) -> bool:
    """falcosidekick sends ``User-Agent: Falcosidekick`` on every output."""
    return user_agent is not None and user_agent.strip().lower().startswith("falcosidekick")


def not_found_body(paths: tuple[str, ...]) -> bytes:
    where = " and ".join(paths)
    return _encode({"error": f"no such path: alerts are taken on {where} "
                             f"({' or '.join(INTAKE_METHODS)}); see serve --intake-path",
                    "intake_paths": list(paths)})


def not_found_handler(paths: tuple[str, ...], log: Any) -> Any:
    """A Starlette 404 handler answering JSON that names the intake paths."""
    from starlette.responses import Response

    body = not_found_body(paths)

    async def not_found(request: Any, exc: Any) -> Response:
        log.info("request to an unknown path", path=request.url.path[:200],
                 method=request.method)
        return Response(body, 404, media_type="application/json")

    return not_found
