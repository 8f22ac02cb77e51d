"""``python -m bench.scale``: one gateway process against two and three on Redis.

Plain WebSocket subscribers are spread round-robin over the processes and the
publisher posts round-robin to them, so every message has to cross Redis to
reach the subscribers of the other processes. Each setup is measured at a fixed
open-loop rate (latency, loss, duplicates, gateway CPU) and saturated in a
closed loop (deliveries per second). Nothing is pinned: the gateways, the load
generator and Redis share the machine's cores, which is the point to read the
figures against.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

from bench.loadgen import Loadgen
from bench.proc import CLOCK_TICKS, cpu_seconds, machine, quiesce, raise_open_files
from bench.servers import (
    LOADGEN_DIR,
    NODE_PEERS_DIR,
    ROOT,
    free_port,
    npm_ci,
    terminate,
)

logger = logging.getLogger("bench")

Backend = Literal["memory", "redis"]
RAW_DIR = ROOT / "bench" / "results" / "raw" / "scale"
# The Redis the gateways share; the test suite points it at its own server.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")


@dataclass(frozen=True)
class Setup:
    backend: Backend
    processes: int

    @property
    def label(self) -> str:
        plural = "es" if self.processes > 1 else ""
        return f"{self.backend}, {self.processes} process{plural}"


SETUPS = (
    Setup("memory", 1),
    Setup("redis", 1),
    Setup("redis", 2),
    Setup("redis", 3),
)


def _without_redis(environ: os._Environ[str]) -> dict[str, str]:
    # An inherited Redis URL would turn the memory baseline into Redis.
    return {
        name: value
        for name, value in environ.items()
        if name not in ("REALTIME_REDIS_URL", "REDIS_URL")
    }


@dataclass
class Gateway:
    """One ``realtime serve`` on a free port, unpinned, stopped by its pid."""

    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def command(self) -> list[str]:
        return [
            *(sys.executable, "-m", "realtime", "serve"),
            *("--host", "127.0.0.1", "--port", str(self.port)),
        ]

    def start(self, timeout: float = 30) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env={**_without_redis(os.environ), **self.env},
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(self.url + "/health", timeout=2) as reply,
            ):
                if reply.status == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the gateway did not start; its log: {self.log_path}")

    def connections(self) -> int:
        """Open client connections, from this process's own /metrics."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as reply:
            text = reply.read().decode()
        return round(
            sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("realtime_connections{")
            )
        )

    def stop(self) -> None:
        terminate(self.process)
        if self._log is not None:
            self._log.close()
            self._log = None


@dataclass
class Row:
    setup: str
    backend: str
    processes: int
    subscribers: int
    per_process: list[int]
    rate: dict[str, Any]
    rate_gateway_cpu: float
    saturate: dict[str, Any]


def _gateway_cpu(gateways: list[Gateway]) -> float:
    return sum(cpu_seconds(gateway.pid) for gateway in gateways)


def delete_keys(prefix: str) -> int:
    """Remove every Redis key this run wrote; the Redis is shared."""
    import redis  # the gateway's own dependency; only needed here

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        return len(keys)
    finally:
        client.close()


def measure(
    setup: Setup, loadgen: Loadgen, args: argparse.Namespace, prefix: str
) -> tuple[Row, list[str]]:
    env = {"REALTIME_LOG_LEVEL": "WARNING"}
    if setup.backend == "redis":
        env |= {"REALTIME_REDIS_URL": REDIS_URL, "REALTIME_REDIS_PREFIX": prefix}
    gateways = [
        Gateway(env, args.raw / "logs" / f"{setup.backend}-{setup.processes}p-{i}.log")
        for i in range(setup.processes)
    ]
    try:
        for gateway in gateways:
            gateway.start()
        urls = [gateway.url for gateway in gateways]
        loadgen.call(
            "target",
            protocol="ws",
            url=urls[0],
            urls=urls,
            publishUrl=urls[0] + "/api/publish",
            publishUrls=[url + "/api/publish" for url in urls],
            namespace="/execution",
            wsPath="/ws/execution/",
            channelId="bench",
            # Several processes: the loadgen's one-pid CPU reading does not
            # apply; the gateways' CPU is read here around the phase instead.
            pid=None,
            clockTicks=CLOCK_TICKS,
            serverCore=None,
        )
        connected = loadgen.call(
            "connect", count=args.subscribers, concurrency=100, timeout=120
        )
        if connected["failed"]:
            raise RuntimeError(f"{setup.label}: {connected}")
        per_process = [gateway.connections() for gateway in gateways]
        # Warm-up, not recorded: Redis connections, first-message paths.
        loadgen.call("rate", rate=20, seconds=1, drain=2, timeout=60)
        for gateway in gateways:
            quiesce(gateway.pid, limit=3)
        before = _gateway_cpu(gateways)
        rate = loadgen.call(
            "rate", rate=args.rate, seconds=args.seconds, drain=3, timeout=120
        )
        cpu = _gateway_cpu(gateways) - before
        saturate = loadgen.call(
            "saturate", window=args.window, seconds=args.seconds, drain=3, timeout=120
        )
        loadgen.call("closeAll")
        commands = [shlex.join(gateway.command) for gateway in gateways]
        row = Row(
            setup=setup.label,
            backend=setup.backend,
            processes=setup.processes,
            subscribers=args.subscribers,
            per_process=per_process,
            rate=rate,
            rate_gateway_cpu=cpu,
            saturate=saturate,
        )
        return row, commands
    finally:
        for gateway in gateways:
            gateway.stop()


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


HEADER = (
    "| setup | subscribers per process | at {rate} msg/s: deliveries/s | p50 ms "
    "| p99 ms | lost | duplicates | gateway CPU µs/delivery | saturated: deliveries/s "
    "| saturated p99 ms | saturated lost / duplicates |"
)


def table(rows: list[Row], rate: float) -> str:
    lines = [HEADER.format(rate=f"{rate:g}"), "|---" * 11 + "|"]
    for row in rows:
        r, s = row.rate, row.saturate
        delivered_per_s = r["delivered"] / max(r["publish_seconds"], 1e-9)
        us = 1e6 * row.rate_gateway_cpu / max(1, r["delivered"])
        lines.append(
            f"| {row.setup} | {' / '.join(map(str, row.per_process))} "
            f"| {delivered_per_s:,.0f} | {_ms(r['latency_ms']['p50'])} "
            f"| {_ms(r['latency_ms']['p99'])} | {r['lost']} | {r['duplicates']} "
            f"| {us:.1f} | {s['deliveries_per_second']:,.0f} "
            f"| {_ms(s['latency_ms']['p99'])} | {s['lost']} / {s['duplicates']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--subscribers", type=int, default=600)
    parser.add_argument("--rate", type=float, default=50, help="open loop, msg/s")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--window", type=int, default=32, help="closed loop")
    parser.add_argument(
        "--processes", type=int, nargs="*", default=None, help="Redis setups to run"
    )
    parser.add_argument(
        "--raw", type=Path, default=RAW_DIR, help="where scale.json and logs go"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    npm_ci(LOADGEN_DIR)
    raise_open_files(4 * args.subscribers + 1024)
    setups = [
        setup
        for setup in SETUPS
        if args.processes is None
        or setup.backend == "memory"
        or setup.processes in args.processes
    ]
    prefix = f"bench-scale-{os.getpid()}-"
    started = time.monotonic()
    rows: list[Row] = []
    commands: list[str] = []
    loadgen = Loadgen(0, args.raw / "logs" / "loadgen.log")
    # Unpinned on purpose: the load generator takes whichever core is free.
    loadgen.command = ["node", str(LOADGEN_DIR / "loadgen.mjs")]
    try:
        with loadgen:
            for setup in setups:
                logger.info("measuring %s ...", setup.label)
                row, started_here = measure(
                    setup, loadgen, args, f"{prefix}{setup.processes}p"
                )
                rows.append(row)
                commands.extend(started_here)
    finally:
        if any(setup.backend == "redis" for setup in setups):
            logger.info("deleted %d Redis keys", delete_keys(prefix))

    facts = machine(LOADGEN_DIR, NODE_PEERS_DIR)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = table(rows, args.rate)
    print(
        f"\nMeasured {when} in {time.monotonic() - started:.0f} s on "
        f"{facts['cpu']}, {facts['cores']} cores (nothing pinned: gateways, load "
        f"generator and Redis share them); Python {facts['python']}, "
        f"Node {facts['node']}; Redis {REDIS_URL}\n"
    )
    print(text)
    args.raw.mkdir(parents=True, exist_ok=True)
    (args.raw / "scale.json").write_text(
        json.dumps(
            {
                "when": when,
                "machine": facts,
                "args": {**vars(args), "raw": str(args.raw)},
                "commands": commands,
                "rows": [asdict(row) for row in rows],
            },
            indent=1,
        )
    )
    clean = all(
        phase["lost"] == 0 and phase["duplicates"] == 0 and phase["publish_failed"] == 0
        for row in rows
        for phase in (row.rate, row.saturate)
    )
    return 0 if clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
