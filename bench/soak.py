"""A bounded soak run: churning clients and steady publications against one gateway.

    uv run python bench/soak.py --minutes 3

It starts its own gateway (``python -m realtime serve``, memory backend, 100
messages of history per channel so the history fills early) on a free loopback
port, then for the given time keeps plain WebSocket and Socket.IO clients
connecting, reading for a moment and leaving, publishes at a steady rate, and keeps
one long-lived client of each protocol on a channel of its own to check nothing is
lost. It prints the server's RSS at the start, every ``--report-every`` seconds and
at the end, with connection and publication counts; then it stops the server with
SIGTERM. Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import psutil
import socketio
import websockets

MIB = 1024 * 1024
POOL = [f"soak-{n}" for n in range(50)]  # execution ids the churners visit
STEADY = "soak-steady"  # the long-lived clients' channel
SERVE = [sys.executable, "-m", "realtime", "serve"]
LISTENING = re.compile(r"Uvicorn running on http://[^:]+:(\d+)")


# -- the server ------------------------------------------------------------------


class Gateway:
    """``python -m realtime serve`` on a free loopback port; its output drained."""

    def __init__(self, history_size: int) -> None:
        env = {
            **os.environ,
            "REALTIME_REDIS_URL": "",
            "REDIS_URL": "",
            "REALTIME_JWT_SECRET": "",
            "REALTIME_API_KEY": "",
            "REALTIME_LOG_LEVEL": "INFO",
            "REALTIME_METRICS_INTERVAL": "10",
            "REALTIME_DRAIN_TIMEOUT": "5",
            "REALTIME_HISTORY_SIZE": str(history_size),
        }
        self.process = subprocess.Popen(
            [*SERVE, "--host", "127.0.0.1", "--port", "0"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.port: int | None = None
        self.levels: Counter[str] = Counter()
        self.problems: list[str] = []
        self._ready = threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()
        if not self._ready.wait(30):
            self.process.kill()
            raise SystemExit("the gateway did not start")
        self.ps = psutil.Process(self.process.pid)

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            match = LISTENING.search(line)
            if match and self.port is None:
                self.port = int(match.group(1))
                self._ready.set()
            for level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
                if f" {level} " in line:
                    self.levels[level] += 1
                    if level in ("ERROR", "CRITICAL") and len(self.problems) < 5:
                        self.problems.append(line.rstrip())
                    break

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def rss_mib(self) -> float:
        return self.ps.memory_info().rss / MIB

    def cpu_seconds(self) -> float:
        times = self.ps.cpu_times()
        return float(times.user + times.system)

    def stop(self) -> tuple[int, float]:
        """SIGTERM by pid; the exit status and how long the drain took."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        return code, time.monotonic() - started


# -- the clients -------------------------------------------------------------------


@dataclass
class Stats:
    ws_opened: int = 0
    ws_closed: int = 0
    sio_opened: int = 0
    sio_closed: int = 0
    published: int = 0
    publish_requests: int = 0
    received: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    steady_offsets: dict[str, list[int]] = field(
        default_factory=lambda: {"websocket": [], "socketio": []}
    )
    steady_drops: list[str] = field(default_factory=list)


async def ws_churner(url: str, stats: Stats, stop: asyncio.Event, seed: int) -> None:
    rng = random.Random(seed)
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        path = f"/ws/execution/{rng.choice(POOL)}"
        try:
            async with websockets.connect(url + path, open_timeout=10) as ws:
                stats.ws_opened += 1
                await asyncio.wait_for(ws.recv(), 10)  # the greeting
                deadline = loop.time() + rng.uniform(0.2, 2.0)
                while (left := deadline - loop.time()) > 0:
                    try:
                        await asyncio.wait_for(ws.recv(), left)
                    except TimeoutError:
                        break
                    stats.received["websocket"] += 1
            stats.ws_closed += 1
        except (OSError, TimeoutError, websockets.WebSocketException) as error:
            stats.failures[f"websocket {type(error).__name__}"] += 1
            await asyncio.sleep(0.5)


async def sio_churner(url: str, stats: Stats, stop: asyncio.Event, seed: int) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        client = socketio.AsyncClient(reconnection=False)

        @client.on("*", namespace="/execution")  # type: ignore[untyped-decorator]
        async def on_event(event: str, *args: Any) -> None:
            stats.received["socketio"] += 1

        try:
            await client.connect(
                url,
                namespaces=["/execution"],
                transports=["websocket"],
                wait_timeout=10,
            )
            stats.sio_opened += 1
            ack = await client.call(
                "subscribe",
                {"id": rng.choice(POOL)},
                namespace="/execution",
                timeout=10,
            )
            if not ack.get("ok"):
                stats.failures[f"socketio subscribe {ack.get('error')}"] += 1
            await asyncio.sleep(rng.uniform(0.2, 2.0))
            await client.disconnect()
            stats.sio_closed += 1
        except (OSError, TimeoutError, socketio.exceptions.SocketIOError) as error:
            stats.failures[f"socketio {type(error).__name__}"] += 1
            with contextlib.suppress(Exception):
                await client.disconnect()
            await asyncio.sleep(0.5)


async def publisher(url: str, rate: float, stats: Stats, stop: asyncio.Event) -> None:
    """``rate`` publications a second, in batches of five; every tenth is steady."""
    batch = 5
    loop = asyncio.get_running_loop()
    next_at = loop.time()
    seq = 0
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        while not stop.is_set():
            body = []
            for _ in range(batch):
                channel = STEADY if seq % 10 == 0 else random.choice(POOL)
                body.append(
                    {
                        "channel": f"execution:{channel}",
                        "type": "log_entry",
                        "data": {"seq": seq, "line": "x" * random.randint(20, 400)},
                    }
                )
                seq += 1
            try:
                response = await http.post("/api/publish", json=body)
                if response.status_code == 200:
                    stats.published += batch
                    stats.publish_requests += 1
                else:
                    stats.failures[f"publish HTTP {response.status_code}"] += 1
            except httpx.HTTPError as error:
                stats.failures[f"publish {type(error).__name__}"] += 1
            next_at += batch / rate
            await asyncio.sleep(max(0.0, next_at - loop.time()))


async def steady_ws(url: str, stats: Stats, stop: asyncio.Event) -> None:
    offsets = stats.steady_offsets["websocket"]
    started = time.monotonic()
    async with websockets.connect(f"{url}/ws/execution/{STEADY}") as ws:
        while not stop.is_set():
            try:
                frame = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            except websockets.ConnectionClosed as closed:
                at = time.monotonic() - started
                stats.steady_drops.append(f"websocket dropped at {at:.0f} s: {closed}")
                return
            message = orjson.loads(frame)
            if message.get("offset"):
                offsets.append(message["offset"])


async def steady_sio(url: str, stats: Stats, stop: asyncio.Event) -> None:
    offsets = stats.steady_offsets["socketio"]
    client = socketio.AsyncClient(reconnection=False)

    started = time.monotonic()

    @client.on("log_entry", namespace="/execution")  # type: ignore[untyped-decorator]
    async def on_log(envelope: dict[str, Any]) -> None:
        offsets.append(envelope["offset"])

    @client.on("disconnect", namespace="/execution")  # type: ignore[untyped-decorator]
    async def on_disconnect(reason: Any = None) -> None:
        if not stop.is_set():
            at = time.monotonic() - started
            stats.steady_drops.append(f"socketio dropped at {at:.0f} s: {reason}")

    await client.connect(url, namespaces=["/execution"], transports=["websocket"])
    await client.call("subscribe", {"id": STEADY}, namespace="/execution")
    await stop.wait()
    await client.disconnect()


# -- reporting ------------------------------------------------------------------------


async def health(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=5) as http:
        answer: dict[str, Any] = (await http.get(f"{url}/health")).json()
        return answer


async def metric_lines(url: str, prefixes: tuple[str, ...]) -> list[str]:
    async with httpx.AsyncClient(timeout=5) as http:
        text = (await http.get(f"{url}/metrics")).text
    return [line for line in text.splitlines() if line.startswith(prefixes)]


def report(
    label: str, gateway: Gateway, stats: Stats, open_now: dict[str, int]
) -> None:
    ws_open, sio_open = open_now.get("websocket", 0), open_now.get("socketio", 0)
    print(
        f"{label:>8}  rss {gateway.rss_mib():7.1f} MiB  "
        f"cpu {gateway.cpu_seconds():6.1f} s  "
        f"open ws {ws_open:3d} sio {sio_open:3d}  "
        f"ws {stats.ws_opened:6d}/{stats.ws_closed:6d}  "
        f"sio {stats.sio_opened:6d}/{stats.sio_closed:6d}  "
        f"published {stats.published:7d}  "
        f"received ws {stats.received['websocket']:7d} "
        f"sio {stats.received['socketio']:7d}",
        flush=True,
    )


def gaps(offsets: list[int]) -> int:
    """Offsets missing or repeated in what should be 1, 2, 3 ..."""
    if not offsets:
        return 0
    expected = list(range(offsets[0], offsets[0] + len(offsets)))
    return sum(1 for got, want in zip(offsets, expected, strict=True) if got != want)


async def soak(args: argparse.Namespace) -> int:
    gateway = Gateway(args.history_size)
    print(f"gateway pid {gateway.process.pid} on {gateway.url}", flush=True)
    stats = Stats()
    stop = asyncio.Event()
    await asyncio.sleep(1)  # let start-up allocations settle
    start_rss = gateway.rss_mib()
    report("start", gateway, stats, (await health(gateway.url))["connections"])

    tasks = [
        asyncio.create_task(steady_ws(gateway.ws_url, stats, stop)),
        asyncio.create_task(steady_sio(gateway.url, stats, stop)),
    ]
    await asyncio.sleep(0.5)
    tasks.append(asyncio.create_task(publisher(gateway.url, args.rate, stats, stop)))
    tasks += [
        asyncio.create_task(ws_churner(gateway.ws_url, stats, stop, seed))
        for seed in range(args.ws_clients)
    ]
    tasks += [
        asyncio.create_task(sio_churner(gateway.url, stats, stop, 1000 + seed))
        for seed in range(args.sio_clients)
    ]

    started = time.monotonic()
    duration = args.minutes * 60
    peak_rss = start_rss
    while (elapsed := time.monotonic() - started) < duration:
        await asyncio.sleep(min(args.report_every, duration - elapsed))
        peak_rss = max(peak_rss, gateway.rss_mib())
        open_now = (await health(gateway.url))["connections"]
        report(f"{time.monotonic() - started:5.0f} s", gateway, stats, open_now)

    stop.set()
    done, pending = await asyncio.wait(tasks, timeout=15)
    for task in pending:
        task.cancel()
    for task in done:
        if task.exception() is not None:
            stats.failures[f"task {type(task.exception()).__name__}"] += 1
    await asyncio.sleep(2)  # the server sees the last disconnects
    after = await health(gateway.url)
    report("end", gateway, stats, after["connections"])
    end_rss = gateway.rss_mib()
    wanted = (
        "realtime_publications_total",
        "realtime_deliveries_total",
        "realtime_slow_disconnects_total",
        "realtime_errors_total",
        "realtime_dropped_messages_total",
        "realtime_channels ",
        "realtime_subscriptions ",
    )
    metrics = await metric_lines(gateway.url, wanted)
    code, drain_seconds = gateway.stop()

    minutes = (time.monotonic() - started) / 60
    print()
    print(f"duration              {minutes:.1f} min")
    print(
        f"server RSS            start {start_rss:.1f} MiB, peak {peak_rss:.1f} MiB, "
        f"end {end_rss:.1f} MiB ({end_rss - start_rss:+.1f} MiB)"
    )
    print(
        f"connections           websocket {stats.ws_opened} opened / "
        f"{stats.ws_closed} closed, socket.io {stats.sio_opened} opened / "
        f"{stats.sio_closed} closed"
    )
    print(f"open after the churn  {after['connections']}")
    print(
        f"publications          {stats.published} in {stats.publish_requests} "
        f"requests ({stats.published / (minutes * 60):.1f}/s)"
    )
    print(f"messages received     {dict(stats.received)}")
    for transport, offsets in stats.steady_offsets.items():
        print(
            f"steady {transport:<10}     {len(offsets)} messages, "
            f"{gaps(offsets)} out of order or missing"
        )
    print(f"steady clients lost   {stats.steady_drops or 'none'}")
    print(f"client-side failures  {dict(stats.failures) or 'none'}")
    print(f"server log lines      {dict(gateway.levels)}")
    for line in gateway.problems:
        print(f"  {line}")
    for line in metrics:
        print(f"metric                {line}")
    print(f"SIGTERM               exit {code} after {drain_seconds:.2f} s")
    return 0 if code == 0 else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="how long (3)")
    parser.add_argument(
        "--rate", type=float, default=50.0, help="publications a second (50)"
    )
    parser.add_argument(
        "--ws-clients", type=int, default=20, help="churning WebSocket clients (20)"
    )
    parser.add_argument(
        "--sio-clients", type=int, default=10, help="churning Socket.IO clients (10)"
    )
    parser.add_argument(
        "--history-size",
        type=int,
        default=100,
        help="messages kept per channel (100: full within the run, so RSS can level)",
    )
    parser.add_argument(
        "--report-every", type=float, default=30.0, help="seconds between lines (30)"
    )
    sys.exit(asyncio.run(soak(parser.parse_args())))


if __name__ == "__main__":
    main()
