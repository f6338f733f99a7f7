"""``serve``: the HTTP receiver for Falco's http_output, falcosidekick's webhook and SNS.

The server's modules (starlette, uvicorn: the ``server`` extra) are imported only when the
command runs.
"""

from __future__ import annotations

import argparse
import os
import ssl
import sys
from typing import Any

from .. import environment
from . import EXIT_CONFIG, EXIT_MISSING, EXIT_OK, EXIT_QUEUE, EXIT_USAGE
from .common import add_config_option, load_engine, load_outline, missing_extra, require

TOKEN_ENV = environment.TOKENS


def add_parser(subparsers: Any) -> None:
    serve = subparsers.add_parser(
        "serve", help="receive alerts over HTTP(S) (Falco http_output, falcosidekick, SNS)",
        description="Receive alerts over HTTP(S), queue each durably before answering 202, "
                    "and run their actions in worker threads (in a child process by "
                    "default). Refuses to start with a "
                    "destructive action and no authentication unless --insecure-no-auth.")
    add_config_option(serve)
    env = os.environ.get
    serve.add_argument("--host", default=env(environment.HOST, "127.0.0.1"),
                       help="address to listen on (default 127.0.0.1; 0.0.0.0 in a container)")
    serve.add_argument("--port", type=int, default=int(env(environment.PORT, "8080")))
    serve.add_argument("--workers", type=int, default=4, metavar="N",
                       help="worker threads running actions (default 4)")
    serve.add_argument("--actions-in", choices=["process", "threads"], default="process",
                       help="process (default): the worker threads run in a child process, "
                            "so actions never take interpreter time from intake; threads: in "
                            "this process (one process, less memory)")
    serve.add_argument("--queue", default=env(environment.QUEUE, "falco-response-queue.db"),
                       metavar="PATH", help="the SQLite queue file, in an existing directory "
                       "(default: falco-response-queue.db in the current directory, or "
                       f"${environment.QUEUE})")
    serve.add_argument("--queue-max", type=int, default=10_000, metavar="N",
                       help="alerts held before answering 503 (default 10000)")
    serve.add_argument("--queue-sync", choices=["normal", "full"], default="normal",
                       help="normal (default) survives a killed process; full also a power "
                            "loss, with an fsync per commit")
    serve.add_argument("--queue-recover", choices=["aside", "refuse"], default="aside",
                       help="a corrupt queue file at start: aside (default) renames it to "
                            "PATH.corrupt-<time> and starts empty; refuse exits with code 4")
    serve.add_argument("--max-attempts", type=int, default=5, metavar="N",
                       help="tries of an alert whose handling raised before it moves to the "
                            "dead-letter table (default 5)")
    serve.add_argument("--retry-backoff", type=float, default=1.0, metavar="SECONDS",
                       help="wait before the second try, doubling each time up to 60 s "
                            "(default 1)")
    serve.add_argument("--body-limit", type=int, default=1024 * 1024, metavar="BYTES",
                       help="largest request body accepted (default 1 MiB)")
    serve.add_argument("--header-limit", type=int, default=64 * 1024, metavar="BYTES",
                       help="largest request line and headers, else 431 (default 64 KiB)")
    serve.add_argument("--max-headers", type=int, default=100, metavar="N",
                       help="most request headers, else 431 (default 100)")
    serve.add_argument("--header-timeout", type=float, default=10.0, metavar="SECONDS",
                       help="time to receive a request's headers, else 408 and the "
                            "connection is closed (default 10)")
    serve.add_argument("--max-connections", type=int, default=1024, metavar="N",
                       help="open connections per listener; more are answered 503 and closed "
                            "(default 1024)")
    serve.add_argument("--tls-cert", help="server certificate (PEM)")
    serve.add_argument("--tls-key", help="server private key (PEM)")
    serve.add_argument("--client-ca", help="require client certificates signed by this CA "
                       "(mutual TLS)")
    serve.add_argument("--token-env", default=TOKEN_ENV, metavar="NAME",
                       help=f"environment variable holding bearer tokens, comma-separated "
                            f"(default {TOKEN_ENV})")
    serve.add_argument("--token-file", metavar="PATH", help="file holding bearer tokens, one "
                       "per line (a mounted Secret)")
    serve.add_argument("--token-port", type=int, metavar="PORT",
                       help="a second TLS listener, beside the mutual-TLS one, where a bearer "
                            "token is required instead of a client certificate (falcosidekick, "
                            "SNS)")
    serve.add_argument("--insecure-no-auth", action="store_true",
                       help="serve destructive actions without authentication (never in "
                            "production)")
    serve.add_argument("--health-port", type=int, metavar="PORT",
                       help="plain-HTTP port for /healthz, /readyz, /metrics (probes, "
                            "Prometheus) when the main port needs client certificates")
    serve.add_argument("--sns-topic-arn", action="append", default=[], metavar="ARN",
                       help="accept SNS messages from this topic on POST /sns (repeatable)")
    serve.add_argument("--intake-path", action="append", default=[], metavar="PATH",
                       help="also take alerts on this path, besides / (repeatable): the path "
                            "of Falco's http_output.url, e.g. /falco")
    serve.add_argument("--drain-timeout", type=float, default=25.0, metavar="SECONDS",
                       help="on SIGTERM, time to finish queued alerts (default 25)")
    serve.add_argument("--dry-run", action="store_true",
                       help="act on nothing; say what each action would do")
    serve.add_argument("--console-port", type=int, metavar="PORT",
                       help="serve the operator console on this port, beside intake (never "
                            "on the intake listener); see `falco-response console`")
    serve.add_argument("--console-host", metavar="ADDRESS",
                       help="address of the console listener (default: --host)")
    from .console import add_console_options

    add_console_options(serve)
    serve.set_defaults(func=run_serve)


def check_tls_files(cert: str | None, key: str | None, client_ca: str | None) -> None:
    """Load the PEM files the way the listener will, before anything says "serving"; raises
    ValueError naming the option and what is wrong with its file."""
    if cert and key:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        for option, path in (("--tls-cert", cert), ("--tls-key", key)):
            if not os.path.isfile(path):
                raise ValueError(f"{option} {path}: no such file")
        try:
            context.load_cert_chain(cert, key)
        except (ssl.SSLError, OSError) as exc:
            raise ValueError(f"--tls-cert {cert} / --tls-key {key}: not a PEM certificate and "
                             f"its private key ({getattr(exc, 'reason', None) or exc})") from None
    if client_ca:
        if not os.path.isfile(client_ca):
            raise ValueError(f"--client-ca {client_ca}: no such file")
        try:
            ssl.create_default_context(cafile=client_ca)
        except (ssl.SSLError, OSError) as exc:
            raise ValueError(f"--client-ca {client_ca}: not a PEM CA certificate "
                             f"({getattr(exc, 'reason', None) or exc})") from None


def check_queue_path(path: str) -> None:
    """The queue's directory must exist: a typo must not create a tree somewhere."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ValueError(f"--queue {path}: the directory {directory} does not exist: create "
                         "it, or pass --queue PATH in an existing directory")


def run_serve(args: argparse.Namespace) -> int:
    try:
        require("starlette", "uvicorn", "prometheus_client", "cryptography")
        from ..server import DurableQueue, Metrics, ServerOptions, SnsVerifier, TokenChecker
        from ..server.auth import load_tokens
        from ..server.dead_letters import RetryPolicy
        from ..server.http_limits import HttpLimits
        from ..server.queue_file import QueueCorrupt, QueueUnusable
        from ..engine import default_logger
        from ..outline import outline_of
        from ..server.run import Listen, UnsafeConfig, check_auth, prepare, run
        from ..server.senders import intake_paths
    except ImportError as exc:
        missing_extra("falco-response serve", "server", exc)
        return EXIT_MISSING

    metrics = Metrics()
    # Threads: this process's engine runs the actions and intake uses its parsers. Process:
    # the child builds the engine; intake reads only the outline (parsers, destructive
    # actions: no action built), and builds an engine only when approvals or the console
    # need one here (they decide and carry out in this process).
    engine = None
    if args.actions_in == "threads":
        engine = load_engine(args, dry_run=args.dry_run, startup_level="info")
        if engine is None:
            return EXIT_CONFIG
        outline = outline_of(engine)
    else:
        loaded = load_outline(args, startup_level="info")
        if loaded is None:
            return EXIT_CONFIG
        outline = loaded
        if outline.has_approvals or args.console_port is not None:
            engine = load_engine(args, dry_run=args.dry_run, startup_level="info")
            if engine is None:
                return EXIT_CONFIG
    log = engine.log if engine is not None else default_logger()
    try:
        tokens = TokenChecker(load_tokens(args.token_env, args.token_file))
    except (OSError, ValueError) as exc:
        print(f"error: bearer tokens: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        paths = intake_paths(args.intake_path)
        limits = HttpLimits(header_bytes=args.header_limit, max_headers=args.max_headers,
                            header_timeout=args.header_timeout,
                            max_connections=args.max_connections)
        retry = RetryPolicy(max_attempts=args.max_attempts, backoff=args.retry_backoff,
                            max_backoff=max(60.0, args.retry_backoff))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    listen = Listen(host=args.host, port=args.port, tls_cert=args.tls_cert,
                    tls_key=args.tls_key, client_ca=args.client_ca,
                    token_port=args.token_port, health_port=args.health_port, limits=limits)
    options = ServerOptions(body_limit=args.body_limit, drain_timeout=args.drain_timeout,
                            tokens=tokens, intake_paths=paths, retry=retry,
                            sns=SnsVerifier(args.sns_topic_arn) if args.sns_topic_arn else None)
    try:
        listen.validate()
        check_tls_files(args.tls_cert, args.tls_key, args.client_ca)
        check_queue_path(args.queue)
        if args.workers < 1 or args.queue_max < 1 or args.body_limit < 1:
            raise ValueError("--workers, --queue-max and --body-limit must be positive")
        check_auth(outline.destructive_actions, listen, options,
                   insecure_no_auth=args.insecure_no_auth, log=log)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except UnsafeConfig as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        queue = DurableQueue(args.queue, max_items=args.queue_max,
                             synchronous=args.queue_sync.upper(), recover=args.queue_recover,
                             log=log)
    except (QueueCorrupt, QueueUnusable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_QUEUE
    if engine is not None and args.actions_in == "threads":
        receiver = prepare(engine, metrics, queue, workers=args.workers, options=options)
    else:
        from ..server.action_process import ActionProcess, command_for
        from ..server.app import intake_receiver
        from ..server.runner import Reporter

        # The child runs actions, not intake: it gets the actions' secrets, not the tokens.
        env = {k: v for k, v in os.environ.items() if k != args.token_env}
        pool = ActionProcess(queue, Reporter(queue, log=log, metrics=metrics, retry=retry),
                             command_for(args.config, workers=args.workers,
                                         dry_run=args.dry_run), env=env)
        receiver = intake_receiver(outline, metrics, queue, pool, options=options,
                                   approvals=engine, log=log)
    extra = []
    if args.console_port is not None:
        from .console import build, uvicorn_config

        assert engine is not None  # built above for the console
        try:
            console = build(args, engine.store, engine, secure=bool(args.tls_cert))
        except (ValueError, OSError) as exc:
            print(f"error: console: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        extra.append(uvicorn_config(console, args.console_host or args.host,
                                    args.console_port, args.tls_cert, args.tls_key))
    log.warning("serving", host=args.host, port=args.port, token_port=args.token_port,
                health_port=args.health_port, intake_paths=list(paths),
                tls=bool(args.tls_cert), mtls=bool(args.client_ca), tokens=tokens.enabled,
                queue=args.queue, workers=args.workers, actions_in=args.actions_in,
                recovered=queue.recovered, dry_run=args.dry_run or outline.dry_run)
    run(receiver, listen, extra=extra)
    return EXIT_OK
