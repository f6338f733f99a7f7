"""HTTP intake: alerts/s accepted by `falco-response serve` (one process, keep-alive), and
p50/p99 latency at a fixed 1,000 alerts/s, beside a bare Starlette app under the same
uvicorn (httptools, uvloop) answering 200 to the same requests, in the same run. Throughput
rounds alternate between the two servers and the median ratio is reported, so load from
elsewhere on the machine hits both alike.

    python bench/server.py [--rounds 5] [--seconds 3] [--connections 8] [--rate 1000]

Targets: accepted rate at least 0.67x the bare app's (issue 15; issue 6 asked for 0.5); p99
under 10 ms at 1,000/s.
Latency rounds alternate too, and the median of each server's per-round p50/p99 is reported:
a single 10-second round on this shared VM moved the bare app's own p99 between 3 and 16 ms.
Both servers run as subprocesses on 127.0.0.1; the load generator is an asyncio client with
one request in flight per keep-alive connection, as Falco's http_output sends. The latency
of each request is measured from its scheduled send time, so a stall is not hidden
(no coordinated omission). Prints figures and ratios; asserts nothing.

``--burn-ms 1`` swaps the log action for a plugin action that spends 1 ms of CPU per alert
(a heavy plugin). The backlog it builds keeps a core busy during the bare app's rounds too,
so compare our absolute rates across ``--actions-in process`` and ``threads`` rather than
the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 0.67
"""Accepted rate / the bare app's, median of alternating rounds (issue 15)."""

BARE_APP = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

async def post(request):
    await request.body()
    return Response(b'{"ok":true}', 200, media_type="application/json")

app = Starlette(routes=[Route("/", post, methods=["POST"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False, timeout_keep_alive=75)
"""

CONFIG = {
    "version": 1,
    "settings": {"log_level": "error"},
    "responses": [{"name": "shells", "match": {"rule": "Terminal shell in container"},
                   "actions": [{"type": "log", "with": {"level": "debug"}}]}],
}

ALERT = json.dumps({
    "time": "2026-11-26T20:00:00.123456789Z", "rule": "Terminal shell in container",
    "priority": "Critical", "source": "syscall", "tags": ["container", "shell"],
    "hostname": "node-1", "output": "A shell was spawned in a container (user=root shell=sh)",
    "output_fields": {"k8s.ns.name": "payments", "k8s.pod.name": "api-7f9",
                      "container.id": "ee97d9c4186f", "proc.name": "sh", "user.name": "root"},
}).encode()


BURN_PLUGIN = """
import time
import msgspec
from falco_response import hookimpl

class Params(msgspec.Struct):
    ms: float

def make(params):
    def run(ctx):
        end = time.thread_time() + params.ms / 1000.0
        while time.thread_time() < end:  # CPU, holding the interpreter, as heavy plugin code
            pass
        return ctx.ok(target="cpu", reason="burned")
    return run

@hookimpl
def register_actions(register):
    register("burn", make, params=Params, summary="bench: spend CPU")
"""


def install_burn_plugin(site: Path) -> None:
    """A plugin whose action spends ``ms`` of CPU, found through an entry point."""
    site.mkdir(parents=True, exist_ok=True)
    (site / "bench_burn.py").write_text(BURN_PLUGIN)
    dist = site / "bench_burn-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: bench-burn\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[falco_response]\nburn = bench_burn\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("server did not start")


def request_bytes(body: bytes) -> bytes:
    return (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"User-Agent: falcosecurity/falco\r\nContent-Length: %d\r\n\r\n" % len(body)) + body


async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> int:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def throughput(port: int, seconds: float, connections: int) -> tuple[float, int, int]:
    raw = request_bytes(ALERT)
    ok = other = 0
    stop = time.monotonic() + seconds

    async def conn() -> None:
        nonlocal ok, other
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.monotonic() < stop:
            status = await one(reader, writer, raw)
            if 200 <= status < 300:
                ok += 1
            else:
                other += 1
        writer.close()

    started = time.monotonic()
    await asyncio.gather(*(conn() for _ in range(connections)))
    return ok / (time.monotonic() - started), ok, other


async def latency(port: int, rate: float, seconds: float, connections: int = 4
                  ) -> tuple[float, float, float, int]:
    """Open loop: request i is due at start + i/rate, on connection i % connections."""
    raw = request_bytes(ALERT)
    total = int(rate * seconds)
    samples: list[float] = []
    bad = 0
    start = time.monotonic() + 0.2

    async def conn(index: int) -> None:
        nonlocal bad
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for i in range(index, total, connections):
            due = start + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            status = await one(reader, writer, raw)
            samples.append(time.monotonic() - due)
            if not 200 <= status < 300:
                bad += 1
        writer.close()

    await asyncio.gather(*(conn(i) for i in range(connections)))
    samples.sort()
    p = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))] * 1000  # noqa: E731
    return p(0.50), p(0.99), p(0.999), bad


def run_client(coro: object) -> object:
    try:
        import uvloop

        return uvloop.run(coro)  # type: ignore[arg-type]
    except ImportError:
        return asyncio.run(coro)  # type: ignore[arg-type]


def measure(name: str, port: int, args: argparse.Namespace) -> dict[str, float]:
    """Alternating rounds of closed-loop throughput; the caller interleaves the two servers
    so that a noisy neighbour hits both alike."""
    rate, ok, other = run_client(throughput(port, args.seconds, args.connections))  # type: ignore[misc]
    print(f"  {name:<22} {rate:>8,.0f}/s accepted ({ok:,} 2xx, {other:,} other)")
    return {"rate": rate}


def measure_latency(name: str, port: int, args: argparse.Namespace) -> dict[str, float]:
    p50, p99, p999, bad = run_client(latency(port, args.rate, args.latency_seconds))  # type: ignore[misc]
    print(f"  {name:<22} at {args.rate:,.0f}/s: p50 {p50:.2f} ms  p99 {p99:.2f} ms  "
          f"p99.9 {p999:.2f} ms" + (f"  ({bad} non-2xx)" if bad else ""))
    return {"p50": p50, "p99": p99}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="throughput round length")
    parser.add_argument("--rounds", type=int, default=5, help="alternating throughput rounds")
    parser.add_argument("--latency-seconds", type=float, default=5.0)
    parser.add_argument("--latency-rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--workers", type=int, default=1, help="serve --workers")
    parser.add_argument("--actions-in", choices=["process", "threads"], default="process",
                        help="serve --actions-in")
    parser.add_argument("--burn-ms", type=float, default=0.0,
                        help="instead of the log action, one that spends this much CPU per "
                             "alert (a heavy plugin): shows what it costs intake")
    args = parser.parse_args()

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root / "src"), "FALCO_RESPONSE_LOG_LEVEL": "error"}
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        data = json.loads(json.dumps(CONFIG))
        if args.burn_ms:
            site = Path(tmp) / "site"
            install_burn_plugin(site)
            env["PYTHONPATH"] = os.pathsep.join([str(site), env["PYTHONPATH"]])
            data["responses"][0]["actions"] = [{"type": "burn", "with": {"ms": args.burn_ms}}]
        config.write_text(json.dumps(data))
        bare_port, ours_port = free_port(), free_port()
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        bare = subprocess.Popen([sys.executable, "-c", BARE_APP, str(bare_port)], env=env,
                                **quiet)
        ours = subprocess.Popen([sys.executable, "-c",
                                 "from falco_response.cli import entry; entry()", "serve",
                                 "--config", str(config), "--port", str(ours_port),
                                 "--queue", str(Path(tmp) / "queue.db"),
                                 "--queue-max", "10000000", "--workers", str(args.workers),
                                 "--actions-in", args.actions_in],
                                env=env, **quiet)
        try:
            wait_up(bare_port, bare)
            wait_up(ours_port, ours)
            print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; "
                  f"{args.connections} keep-alive connections, {len(ALERT)}-byte alert, "
                  f"serve --workers {args.workers} --actions-in {args.actions_in}"
                  + (f", actions spending {args.burn_ms} ms CPU each" if args.burn_ms else ""))
            for port in (bare_port, ours_port):
                run_client(throughput(port, 1.0, args.connections))  # warm-up
            rates: dict[str, list[float]] = {"bare": [], "ours": []}
            for round_ in range(1, args.rounds + 1):
                print(f"throughput, round {round_}:")
                rates["bare"].append(measure("bare starlette (200)", bare_port, args)["rate"])
                rates["ours"].append(measure("falco-response serve", ours_port, args)["rate"])
            lat: dict[str, list[dict[str, float]]] = {"bare": [], "ours": []}
            for round_ in range(1, args.latency_rounds + 1):
                print(f"latency (open loop), round {round_}:")
                lat["bare"].append(measure_latency("bare starlette (200)", bare_port, args))
                lat["ours"].append(measure_latency("falco-response serve", ours_port, args))
        finally:
            for proc in (bare, ours):
                proc.terminate()
            for proc in (bare, ours):
                proc.wait(60)
    ratios = sorted(o / b for o, b in zip(rates["ours"], rates["bare"]))
    median = ratios[len(ratios) // 2]
    print(f"\naccepted rate / bare rate per round: {', '.join(f'{r:.2f}' for r in ratios)}; "
          f"median {median:.2f} (target >= {TARGET:.2f}: {'met' if median >= TARGET else 'NOT met'})")
    print(f"median rates: ours {sorted(rates['ours'])[len(ratios) // 2]:,.0f}/s, bare "
          f"{sorted(rates['bare'])[len(ratios) // 2]:,.0f}/s")
    mine = {k: _median([r[k] for r in lat["ours"]]) for k in ("p50", "p99")}
    base = {k: _median([r[k] for r in lat["bare"]]) for k in ("p50", "p99")}
    print(f"p99 at {args.rate:,.0f}/s, median of {args.latency_rounds} rounds: "
          f"{mine['p99']:.2f} ms (target < 10 ms: {'met' if mine['p99'] < 10 else 'NOT met'}); "
          f"bare app p99 {base['p99']:.2f} ms; p50 {mine['p50']:.2f} ms vs {base['p50']:.2f} ms")


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


if __name__ == "__main__":
    main()
