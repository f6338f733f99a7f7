"""``falco-response console``: the operator console (``console/``) against a store; and the
options ``serve --console-port`` shares with it."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .. import environment
from . import EXIT_CONFIG, EXIT_OK, EXIT_USAGE
from .common import add_config_option, load_engine

OPERATORS_ENV = environment.OPERATORS_FILE
SECRET_ENV = environment.CONSOLE_SECRET


def add_console_options(parser: argparse.ArgumentParser) -> None:
    """Operator authentication: the operators file, or an authenticating proxy's header."""
    parser.add_argument("--operators", default=os.environ.get(OPERATORS_ENV), metavar="FILE",
                        help="operators, one per line: NAME ROLE [TOKEN] (roles viewer, "
                             f"approver, admin; a mounted Secret; default ${OPERATORS_ENV})")
    parser.add_argument("--proxy-header", metavar="NAME",
                        help="trust this header (e.g. X-Forwarded-Email) to name the operator, "
                             "from --proxy-address only")
    parser.add_argument("--proxy-address", action="append", default=[], metavar="IP",
                        help="an authenticating proxy's address (repeatable)")


def add_parser(subparsers: Any) -> None:
    console = subparsers.add_parser(
        "console", help="serve the operator console: watch, approve, pause, undo",
        description="Serve the operator console against a state store: live outcomes, the "
                    "audit trail, the containment switch, undo. Operators sign in with "
                    "their own tokens (--operators), never the alert senders'.")
    add_config_option(console)
    console.add_argument("--store", help="state store URL (default: the config's "
                         "settings.store)")
    console.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    console.add_argument("--port", type=int, default=8090, help="port (default 8090)")
    console.add_argument("--tls-cert", help="server certificate (PEM)")
    console.add_argument("--tls-key", help="server private key (PEM)")
    add_console_options(console)
    console.set_defaults(func=run_console)


def build(args: argparse.Namespace, store: Any, engine: Any, *, secure: bool) -> Any:
    """The console's ASGI app; raises ``ValueError`` / ``OSError`` for bad options."""
    from ..console import Auth, Console, build_app, load_operators

    if not args.operators:
        raise ValueError(f"the console needs operators: pass --operators FILE (or set "
                         f"${OPERATORS_ENV})")
    if args.proxy_header and not args.proxy_address:
        raise ValueError("--proxy-header needs --proxy-address (who may set it)")
    operators = load_operators(args.operators)
    if not operators:
        raise ValueError(f"{args.operators} lists no operator")
    secret = os.environ.get(SECRET_ENV, "").encode() or None
    auth = Auth(operators, secret=secret, proxy_header=args.proxy_header,
                proxy_addresses=args.proxy_address, secure=secure)
    return build_app(Console(store=store, auth=auth, engine=engine,
                             approvals=_approvals(store, engine)))


def _approvals(store: Any, engine: Any) -> Any:
    """The Approvals page, when this installation has approvals (``falco_response.approval``)."""
    from ..console.approvals import Approvals, available

    return Approvals(store, engine) if available() else None


# People, not Falco, use this listener: a few connections, short keep-alives, and the same
# head limits as intake (431 past them, 408 for a slow head, 503 past the connections), so an
# unauthenticated client cannot hold the console's memory or every one of its connections.
# 32 KiB of head leaves room for a browser's cookies and an authenticating proxy's headers.
CONSOLE_HEADER_BYTES = 32 * 1024
CONSOLE_MAX_HEADERS = 100
CONSOLE_HEADER_TIMEOUT = 10.0
CONSOLE_MAX_CONNECTIONS = 64


class _Refusals:
    """Logs the console listener's protocol refusals: the first of each reason, then one in
    a hundred (a flood of slow heads must not become a flood of log lines)."""

    def __init__(self) -> None:
        import structlog

        self.counts: dict[str, int] = {}
        self.log = structlog.get_logger("falco_response.console")

    def __call__(self, reason: str) -> None:
        count = self.counts[reason] = self.counts.get(reason, 0) + 1
        if count == 1 or count % 100 == 0:
            self.log.warning(
                "console request refused by the listener", reason=reason, count=count)


def uvicorn_config(app: Any, host: str, port: int, tls_cert: str | None,
                   tls_key: str | None) -> Any:
    import uvicorn

    from ..server.http_limits import HttpLimits, protocol_class

    limits = HttpLimits(header_bytes=CONSOLE_HEADER_BYTES, max_headers=CONSOLE_MAX_HEADERS,
                        header_timeout=CONSOLE_HEADER_TIMEOUT,
                        max_connections=CONSOLE_MAX_CONNECTIONS)
    kwargs: dict[str, Any] = dict(host=host, port=port, lifespan="off", access_log=False,
                                  log_level="warning", server_header=False,
                                  proxy_headers=False, limit_concurrency=CONSOLE_MAX_CONNECTIONS,
                                  timeout_keep_alive=15,
                                  http=protocol_class(limits, _Refusals()))
    if tls_cert:
        kwargs.update(ssl_certfile=tls_cert, ssl_keyfile=tls_key)
    return uvicorn.Config(app, **kwargs)


class _ConsoleStore:
    """The console's store (``--store``, else the config's ``settings.store``), opened once
    the config is read and given to the engine as it is built; ``error`` is why it could not
    be opened (reported with the console's other errors)."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self.store: Any = None
        self.error: Exception | None = None

    def open(self, configured: str | None) -> None:
        from ..state import StoreError
        from .containment import existing_store

        url = self.url or configured
        if url:
            try:
                self.store = existing_store(url)
            except (ValueError, OSError, StoreError) as exc:
                self.error = exc

    def __call__(self, config: Any) -> Any:
        from ..loading import StoreChoice

        self.open(config.settings.store)
        return StoreChoice(self.store)


def run_console(args: argparse.Namespace) -> int:
    from ..logs import configure_logging
    from ..state import StoreError

    if bool(args.tls_cert) != bool(args.tls_key):
        print("error: --tls-cert and --tls-key go together", file=sys.stderr)
        return EXIT_USAGE
    engine = None
    chosen = _ConsoleStore(args.store)
    if args.config:
        engine = load_engine(args, store=chosen)
        if engine is None:
            return EXIT_CONFIG
    else:
        configure_logging(os.environ.get(environment.LOG_LEVEL, "warning"))
        chosen.open(None)
    try:
        if chosen.error is not None:
            raise chosen.error
        store = chosen.store
        if store is None:
            print("error: name the store: --store URL, or a --config with settings.store",
                  file=sys.stderr)
            return EXIT_USAGE
        app = build(args, store, engine, secure=bool(args.tls_cert))
    except (ValueError, OSError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    import uvicorn

    server = uvicorn.Server(uvicorn_config(app, args.host, args.port, args.tls_cert,
                                           args.tls_key))
    print(f"console on http{'s' if args.tls_cert else ''}://{args.host}:{args.port}/ "
          f"(store {store.url})", file=sys.stderr)
    server.run()
    return EXIT_OK
