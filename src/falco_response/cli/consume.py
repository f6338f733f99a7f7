"""``consume --queue-url URL``: take alerts from an SQS queue (several replicas, one queue);
``consume nats://...``: from a NATS JetStream stream (see ``consume_nats``).

boto3 (the ``aws`` or ``server`` extra) is imported only when the command runs. The usual
AWS settings apply (``AWS_REGION``, ``AWS_ENDPOINT_URL_SQS``, IRSA / pod identity).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any

from . import EXIT_CONFIG, EXIT_MISSING, EXIT_OK, EXIT_USAGE
from .common import add_config_option, error, load_engine, missing_extra, require


def add_parser(subparsers: Any) -> None:
    consume = subparsers.add_parser(
        "consume", help="take alerts from an SQS queue or a NATS JetStream stream",
        description="Receive alerts from an SQS queue (--queue-url) or a NATS JetStream "
                    "stream (SOURCE: nats://host:4222?stream=S&consumer=C), keep each message "
                    "from other replicas while its actions run, remove it when they finished "
                    "without failure, and leave failures to redelivery and the dead letters.")
    add_config_option(consume)
    consume.add_argument("source", nargs="?", metavar="SOURCE",
                         help="nats://host:4222?stream=S&consumer=C: a NATS JetStream durable "
                              "consumer (instead of --queue-url; see docs/server.md)")
    consume.add_argument("--queue-url", help="the SQS queue URL")
    consume.add_argument("--region", default=None, help="AWS region (default: from the "
                         "environment, else from the queue URL)")
    consume.add_argument("--endpoint-url", default=None, help="SQS endpoint (tests, VPC "
                         "endpoints); default: boto3's")
    consume.add_argument("--workers", type=int, default=4, metavar="N",
                         help="messages worked on at once (default 4)")
    consume.add_argument("--wait", type=int, default=20, metavar="SECONDS",
                         help="long-poll wait, 0-20 (default 20)")
    consume.add_argument("--visibility", type=int, default=60, metavar="SECONDS",
                         help="visibility timeout, extended while working (default 60)")
    consume.add_argument("--health-port", type=int, metavar="PORT",
                         help="plain-HTTP port for /healthz, /readyz, /metrics")
    consume.add_argument("--dry-run", action="store_true",
                         help="act on nothing; say what each action would do")
    consume.set_defaults(func=run_consume)


def region_of(queue_url: str) -> str | None:
    """``sqs.<region>.amazonaws.com`` (or the legacy ``<region>.queue.amazonaws.com``)."""
    from urllib.parse import urlsplit

    host = (urlsplit(queue_url).hostname or "").split(".")
    if len(host) >= 4 and host[0] == "sqs":
        return host[1]
    if len(host) >= 4 and host[1] == "queue":
        return host[0]
    return None


def run_consume(args: argparse.Namespace) -> int:
    if (args.source is None) == (args.queue_url is None):
        print("error: give either --queue-url URL (SQS) or nats://host:4222?stream=S&consumer=C",
              file=sys.stderr)
        return EXIT_USAGE
    if args.source is not None:
        from .consume_nats import run_nats

        return run_nats(args)
    try:
        require("boto3", "prometheus_client")
        import boto3  # type: ignore[import-untyped]

        from ..server.health import HealthServer
        from ..server.metrics import Metrics
        from ..server.sqs import SqsConsumer
    except ImportError as exc:
        missing_extra("falco-response consume", "server", exc)
        return EXIT_MISSING

    metrics = Metrics()
    engine = load_engine(args, dry_run=args.dry_run, plugins=[metrics], startup_level="info")
    if engine is None:
        return EXIT_CONFIG
    region = (args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
              or region_of(args.queue_url))
    if not region:
        error("no AWS region: pass --region, set AWS_REGION, or use a queue URL of the form "
              "https://sqs.REGION.amazonaws.com/ACCOUNT/NAME")
        return EXIT_CONFIG
    session = boto3.session.Session(region_name=region)
    if session.get_credentials() is None:
        error("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
              "AWS_PROFILE, or run with an IAM role (IRSA / EKS pod identity)")
        return EXIT_CONFIG
    client = session.client("sqs", endpoint_url=args.endpoint_url)
    try:
        consumer = SqsConsumer(engine, client, args.queue_url, workers=args.workers,
                               wait_seconds=args.wait, visibility=args.visibility,
                               metrics=metrics)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    health = None
    if args.health_port is not None:
        health = HealthServer("0.0.0.0", args.health_port, registry=metrics.registry,
                              live=lambda: True,
                              ready=lambda: "draining" if consumer.stopping else "ready")
        health.start()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: consumer.stop())
    engine.log.warning("consuming", queue_url=args.queue_url, workers=args.workers,
                       dry_run=engine.dry_run)
    try:
        consumer.run()
    finally:
        if health is not None:
            health.stop()
        close = getattr(engine, "close", None)  # engines with a state store
        if callable(close):
            close()
    engine.log.warning("stopped", deleted=consumer.deleted, left=consumer.left)
    return EXIT_OK
