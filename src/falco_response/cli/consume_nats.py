"""``consume nats://host:4222?stream=FALCO&consumer=falco-response``: alerts from a NATS
JetStream stream (falcosidekick's ``nats`` output), through a durable pull consumer that every
replica shares. nats-py (the ``nats`` extra) is imported only when the command runs."""

from __future__ import annotations

import argparse
import signal
import sys

from . import EXIT_CONFIG, EXIT_OK, EXIT_USAGE
from .common import load_engine


def run_nats(args: argparse.Namespace) -> int:
    import importlib.util

    from ..server.nats_source import parse_nats_url

    try:
        source = parse_nats_url(args.source)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if importlib.util.find_spec("nats") is None:
        print("error: consume nats:// needs nats-py: pip install 'falco-response[nats]'",
              file=sys.stderr)
        return EXIT_USAGE
    from ..server.health import HealthServer
    from ..server.jetstream import JetStreamConsumer
    from ..server.metrics import Metrics

    metrics = Metrics()
    engine = load_engine(args, dry_run=args.dry_run, plugins=[metrics], startup_level="info")
    if engine is None:
        return EXIT_CONFIG
    try:
        consumer = JetStreamConsumer(engine, source, workers=args.workers, metrics=metrics)
    except (ValueError, OSError) as exc:  # a TLS file that cannot be read
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    health = None
    if args.health_port is not None:
        health = HealthServer("0.0.0.0", args.health_port, registry=metrics.registry,
                              live=lambda: True,
                              ready=lambda: "draining" if consumer.stopping else (
                                  "ready" if consumer.connected.is_set() else "connecting"))
        health.start()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: consumer.stop())
    engine.log.warning("consuming", source=source.url, workers=args.workers,
                       dry_run=engine.dry_run)
    try:
        consumer.run()
    except Exception as exc:
        engine.log.error("NATS consumer stopped", error=f"{type(exc).__name__}: {exc}"[:300])
        return EXIT_USAGE
    finally:
        if health is not None:
            health.stop()
        engine.close()
    engine.log.warning("stopped", acked=consumer.acked, naked=consumer.naked,
                       dead_lettered=consumer.dead)
    return EXIT_OK
