"""The measurements, one server at a time, and what each run is made of."""

from __future__ import annotations

import contextlib
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from bench.loadgen import Loadgen
from bench.proc import (
    MIB,
    Sampler,
    core_busy_seconds,
    cpu_seconds,
    quiesce,
    rss_bytes,
)
from bench.servers import ServerProcess, ServerSpec

logger = logging.getLogger("bench")

Phase = dict[str, Any]


@dataclass(frozen=True)
class Plan:
    """How big and how long: the quick mode proves the bench, the full one measures."""

    mode: str
    servers: tuple[str, ...]
    sweep: tuple[int, ...]  # subscriber counts, ascending; `main` is one of them
    main: int
    saturate_seconds: float
    window: int  # messages not yet delivered to everyone, at most
    latency_rate: float
    latency_seconds: float
    cpu_rate: float
    cpu_seconds: float
    probes: int
    connections: int | None  # the many-connections figure, full mode only
    overload_paused: int
    overload_live: int
    overload_rate: float
    overload_seconds: float
    overload_pad: int
    pad: int = 64
    connect_concurrency: int = 100


OURS = ("gateway-socketio", "gateway-ws")
QUICK = Plan(
    mode="quick",
    servers=(*OURS, "python-socketio"),
    sweep=(10, 50),
    main=50,
    saturate_seconds=1.0,
    window=32,
    latency_rate=20,
    latency_seconds=1.0,
    cpu_rate=5,
    cpu_seconds=1.0,
    probes=5,
    connections=200,
    overload_paused=5,
    overload_live=5,
    overload_rate=100,
    overload_seconds=1.0,
    overload_pad=2048,
)
FULL = Plan(
    mode="full",
    servers=(
        *OURS,
        "python-socketio",
        "fastapi-ws",
        "django-channels",
        "node-socketio",
        "node-ws",
    ),
    sweep=(100, 500, 1000, 2000),
    main=1000,
    saturate_seconds=4.0,
    window=32,
    latency_rate=20,
    latency_seconds=4.0,
    cpu_rate=5,
    cpu_seconds=8.0,
    probes=20,
    connections=10_000,
    # 34 MB for each reader that stops: several times what the kernel's
    # socket buffers take on loopback, so what a server keeps shows in its RSS.
    overload_paused=20,
    overload_live=10,
    overload_rate=500,
    overload_seconds=8.0,
    overload_pad=8192,
)


@dataclass
class SweepPoint:
    subscribers: int
    saturate: Phase
    latency: Phase
    # The server's CPU use while saturated, as a fraction of its one core: near
    # 1.0 the server is the bottleneck, well below it the load generator is.
    saturate_server_cpu: float


@dataclass
class ServerResult:
    key: str
    label: str
    protocol: str
    note: str
    commands: list[str] = field(default_factory=list)
    error: str | None = None
    idle_rss: int | None = None
    probe: Phase | None = None
    connections: Phase | None = None
    sweep: list[SweepPoint] = field(default_factory=list)
    cpu: Phase | None = None
    overload: Phase | None = None

    def point(self, subscribers: int) -> SweepPoint | None:
        return next((p for p in self.sweep if p.subscribers == subscribers), None)


def _settle(pid: int, seconds: float = 1.0) -> int:
    """RSS once the process has had ``seconds`` to finish what it was doing."""
    time.sleep(seconds)
    return rss_bytes(pid)


class BenchError(RuntimeError):
    pass


def connect(loadgen: Loadgen, plan: Plan, count: int, *, tolerate: float = 0) -> Phase:
    """Open ``count`` subscribed clients; more than ``tolerate`` failing is fatal.

    Figures taken with fewer subscribers than planned would compare unlike
    with unlike, so a server that refuses connections fails its row instead.
    """
    reply = loadgen.call(
        "connect", count=count, concurrency=plan.connect_concurrency, timeout=600
    )
    failed = int(reply["failed"])
    if failed:
        errors = "; ".join(reply["errors"])
        if failed > tolerate * count:
            raise BenchError(f"{failed} of {count} connections failed: {errors}")
        logger.warning("%d of %d connections failed: %s", failed, count, errors)
    return reply


def measure(
    spec: ServerSpec, plan: Plan, core: int, loadgen: Loadgen, logs: Path
) -> ServerResult:
    """Every figure for one server; a failure is recorded, not raised."""
    result = ServerResult(spec.key, spec.label, spec.protocol, spec.note)
    log_path = logs / f"{spec.key}.log"
    try:
        # A fresh process for what depends on a clean heap: idle RSS, a lone
        # client's connect time, and the memory of many connections.
        with ServerProcess(spec, core, log_path) as server:
            result.commands.append(" ".join(server.command))
            loadgen.target(server)
            result.idle_rss = _settle(server.pid)
            result.probe = loadgen.call("probe", count=plan.probes)
            if plan.connections:
                _connections(result, server, loadgen, plan, plan.connections)
            else:
                _fanout(result, server, loadgen, plan)
        if plan.connections:
            # A second fresh process for the fan-out figures, so the many
            # connections above leave nothing behind in them.
            with ServerProcess(spec, core, log_path) as server:
                loadgen.target(server)
                _fanout(result, server, loadgen, plan)
    except Exception as error:
        logger.error("%s failed: %s", spec.key, error)
        result.error = f"{type(error).__name__}: {error}"
        with contextlib.suppress(Exception):
            loadgen.call("closeAll")
    return result


def _fanout(
    result: ServerResult, server: ServerProcess, loadgen: Loadgen, plan: Plan
) -> None:
    # Overload first, on a heap nothing has grown yet: memory freed by an
    # earlier phase would be reused and hide the growth.
    _overload(result, server, loadgen, plan)
    loadgen.call("closeAll")
    quiesce(server.pid)
    _sweep(result, server, loadgen, plan)
    loadgen.call("closeAll")
    quiesce(server.pid)


def _connections(
    result: ServerResult,
    server: ServerProcess,
    loadgen: Loadgen,
    plan: Plan,
    count: int,
) -> None:
    before = rss_bytes(server.pid)
    cpu_before = cpu_seconds(server.pid)
    gc_before = full_collections(server.url)
    reply = connect(loadgen, plan, count, tolerate=0.01)
    cpu_after = cpu_seconds(server.pid)
    gc_after = full_collections(server.url)
    after = _settle(server.pid)
    connected = int(reply["connected"])
    result.connections = {
        "requested": count,
        "connected": connected,
        "failed": reply["failed"],
        "seconds": reply["seconds"],
        "rss_before": before,
        "rss_after": after,
        "bytes_per_connection": (after - before) / max(1, connected),
        "server_cpu_seconds": cpu_after - cpu_before,
    }
    if gc_before is not None and gc_after is not None:
        result.connections["gc_full_collections"] = gc_after[0] - gc_before[0]
        result.connections["gc_full_seconds"] = gc_after[1] - gc_before[1]
    logger.info(
        "  %d connections in %.1fs, %.1f KiB each",
        connected,
        reply["seconds"],
        result.connections["bytes_per_connection"] / 1024,
    )
    loadgen.call("closeAll")
    quiesce(server.pid)


def full_collections(url: str) -> tuple[float, float] | None:
    """Python's full collections so far and their seconds, from the gateway's
    ``realtime_gc_pause_seconds``; None for a server that does not report them."""
    try:
        with urllib.request.urlopen(url + "/metrics", timeout=10) as reply:
            text = reply.read().decode()
    except (OSError, urllib.error.URLError):
        return None
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "realtime_gc_pause_seconds":
            continue
        for sample in family.samples:
            if sample.labels.get("generation") == "2":
                found[sample.name.rsplit("_", 1)[1]] = sample.value
    if "count" not in found or "sum" not in found:
        return None
    return found["count"], found["sum"]


def _sweep(
    result: ServerResult, server: ServerProcess, loadgen: Loadgen, plan: Plan
) -> None:
    connected = 0
    ceiling = server.spec.max_subscribers
    for subscribers in plan.sweep:
        if ceiling is not None and subscribers > ceiling:
            break
        reply = connect(loadgen, plan, subscribers - connected)
        connected = int(reply["total"])
        saturate = loadgen.call(
            "saturate",
            window=plan.window,
            seconds=plan.saturate_seconds,
            pad=plan.pad,
        )
        latency = loadgen.call(
            "rate",
            rate=plan.latency_rate,
            seconds=plan.latency_seconds,
            pad=plan.pad,
        )
        point = SweepPoint(
            subscribers=connected,
            saturate=saturate,
            latency=latency,
            saturate_server_cpu=saturate["window_server_cpu"] or 0.0,
        )
        result.sweep.append(point)
        logger.info(
            "  %5d subs: %8.0f deliveries/s (server %3.0f%%, loadgen %3.0f%%, "
            "others on the server's core %3.0f%%), p99 %.1f ms at %g msg/s, lost %d",
            connected,
            saturate["deliveries_per_second"],
            100 * point.saturate_server_cpu,
            100 * saturate["window_loadgen_cpu"],
            100 * (saturate["window_others_on_server_core"] or 0),
            latency["latency_ms"]["p99"] or 0,
            plan.latency_rate,
            saturate["lost"] + latency["lost"],
        )
        if subscribers == plan.main:
            _cpu(result, server, loadgen, plan)


def _cpu(
    result: ServerResult, server: ServerProcess, loadgen: Loadgen, plan: Plan
) -> None:
    # A steady, modest rate: the figure is the server's cost per delivery
    # when it is not saturated, the cost a deployment pays all day.
    quiesce(server.pid)
    before = cpu_seconds(server.pid)
    core_before = core_busy_seconds(server.core)
    phase = loadgen.call(
        "rate", rate=plan.cpu_rate, seconds=plan.cpu_seconds, pad=plan.pad
    )
    used = cpu_seconds(server.pid) - before
    others = core_busy_seconds(server.core) - core_before - used
    delivered = int(phase["delivered"])
    result.cpu = {
        **phase,
        "server_cpu_seconds": used,
        "us_per_delivery": 1e6 * used / delivered if delivered else None,
        "server_utilisation": used / max(phase["wall_seconds"], 1e-9),
        "others_on_server_core": max(0.0, others) / max(phase["wall_seconds"], 1e-9),
    }
    logger.info(
        "  CPU %.1f us per delivery (%.2fs for %d deliveries)",
        result.cpu["us_per_delivery"] or 0,
        used,
        delivered,
    )


def _overload(
    result: ServerResult, server: ServerProcess, loadgen: Loadgen, plan: Plan
) -> None:
    connect(loadgen, plan, plan.overload_live + plan.overload_paused)
    paused = loadgen.call("pause", count=plan.overload_paused)["paused"]
    start = _settle(server.pid, 0.5)
    with Sampler(server.pid) as sampler:
        phase = loadgen.call(
            "rate",
            rate=plan.overload_rate,
            seconds=plan.overload_seconds,
            pad=plan.overload_pad,
            drain=2,
        )
    end = rss_bytes(server.pid)
    resumed = loadgen.call("resume", published=phase["published"])
    peak = max(sampler.peak, end)
    late = _late_growth(sampler.samples, float(phase["publish_seconds"]))
    result.overload = {
        "live": phase,
        "paused": paused,
        "resume": resumed,
        "rss_start": start,
        "rss_peak": peak,
        "rss_end": end,
        "rss_growth": peak - start,
        "late_growth_per_second": late,
        "published_bytes": int(phase["published"]) * (plan.overload_pad + 260),
        "verdict": _verdict(phase, resumed, paused),
        "rss_samples": sampler.samples[:: max(1, len(sampler.samples) // 100)],
    }
    logger.info(
        "  overload: RSS +%.0f MiB (%.1f MiB/s at the end), slow readers: "
        "%d cut, %d got all; %s",
        (peak - start) / MIB,
        late / MIB,
        resumed["cut"],
        resumed["complete"],
        result.overload["verdict"],
    )


def _late_growth(samples: list[tuple[float, int]], publishing: float) -> float:
    """RSS growth in bytes/s over the second half of the publishing.

    Near zero the server stopped taking on more for the slow readers; near the
    average growth it was still keeping everything when publishing stopped.
    """
    window = [(t, rss) for t, rss in samples if publishing / 2 <= t <= publishing]
    if len(window) < 2:
        return 0.0
    (t0, first), (t1, last) = window[0], window[-1]
    return (last - first) / max(t1 - t0, 1e-9)


def _verdict(live: Phase, resumed: Phase, paused: int) -> str:
    """What the server did with the readers that stopped reading.

    Servers share one encoded frame among recipients, so holding a backlog
    costs them the frames once plus a little per reader: RSS alone says little
    in a short run. What the slow readers got once they read again says
    whether the server would have kept on holding.
    """
    if live["unsent"] or live["publish_failed"]:
        return "bounded: publishing blocked"
    if resumed["complete"] == paused:
        return "unbounded: kept everything"
    return f"bounded: {resumed['cut']} cut, {resumed['partial']} dropped some"
