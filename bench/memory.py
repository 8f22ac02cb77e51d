"""Where a connection's memory goes: tracemalloc in the gateway, per source line.

``python -m bench.memory`` starts the gateway with tracemalloc on, snapshots
its heap, opens subscribed connections from the Node load generator, snapshots
again, and prints the allocation sites that grew, divided by the connection
count. RSS per connection is printed beside it: tracemalloc sees only what
Python allocates, RSS also the allocator's slack and the C libraries'.

The figures are for finding what to trim, not for the results table (tracing
itself slows the server and adds its own memory); ``python -m bench`` measures
the RSS per connection that docs/performance.md reports.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from types import FrameType

from bench.loadgen import Loadgen
from bench.proc import quiesce, raise_open_files, rss_bytes
from bench.servers import ROOT, ServerProcess, ServerSpec

# The server side: where the snapshots go, set by the parent.
_SNAPSHOT_DIR = "BENCH_MEMORY_SNAPSHOTS"


def _serve(port: int, frames: int) -> None:
    """Run the gateway traced; each SIGUSR1 writes the next numbered snapshot."""
    from realtime.cli import main

    folder = Path(os.environ[_SNAPSHOT_DIR])
    taken = 0

    def snapshot(signum: int, frame: FrameType | None) -> None:
        nonlocal taken
        taken += 1
        tracemalloc.take_snapshot().dump(str(folder / f"{taken}.snap"))
        (folder / f"{taken}.done").touch()

    tracemalloc.start(frames)
    signal.signal(signal.SIGUSR1, snapshot)
    main(["serve", "--host", "127.0.0.1", "--port", str(port)])


def _take(server: ServerProcess, folder: Path, number: int) -> tracemalloc.Snapshot:
    os.kill(server.pid, signal.SIGUSR1)
    done = folder / f"{number}.done"
    deadline = time.monotonic() + 120
    while not done.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the server wrote no snapshot within 120 s")
        time.sleep(0.1)
    return tracemalloc.Snapshot.load(str(folder / f"{number}.snap"))


def measure(protocol: str, count: int, frames: int, top: int, by_file: bool) -> None:
    spec = ServerSpec(
        f"gateway-{protocol}-traced",
        f"gateway ({protocol}), traced",
        "socketio" if protocol == "socketio" else "ws",
        (
            sys.executable,
            "-m",
            "bench.memory",
            "serve",
            "--port",
            "{port}",
            "--frames",
            str(frames),
        ),
    )
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        folder = Path(tmp)
        os.environ[_SNAPSHOT_DIR] = tmp
        log = ROOT / "bench" / "results" / "raw" / "memory.log"
        with (
            ServerProcess(spec, core=0, log_path=log) as server,
            Loadgen(core=1, log_path=log) as loadgen,
        ):
            loadgen.target(server)
            quiesce(server.pid)
            rss_before = rss_bytes(server.pid)
            before = _take(server, folder, 1)
            took = loadgen.call("connect", count=count, concurrency=100, timeout=600)
            quiesce(server.pid)
            rss_after = rss_bytes(server.pid)
            after = _take(server, folder, 2)
            loadgen.call("closeAll")
    key = "filename" if by_file else "traceback" if frames > 1 else "lineno"
    stats = after.compare_to(before, key)
    traced = sum(stat.size_diff for stat in stats)
    print(
        f"{protocol}: {count} connections in {took.get('seconds', 0):.1f} s; "
        f"RSS {(rss_after - rss_before) / count / 1024:.1f} KiB per connection, "
        f"traced {traced / count / 1024:.1f} KiB"
    )
    print(f"{'bytes/conn':>10} {'blocks/conn':>11}  site")
    for stat in stats[:top]:
        if stat.size_diff <= 0:
            break
        lines = stat.traceback.format()
        where = "\n" + "\n".join(lines) if frames > 1 else " " + lines[0].strip()
        print(f"{stat.size_diff / count:10.0f} {stat.count_diff / count:11.2f} {where}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="(internal) the traced gateway")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--frames", type=int, default=1)
    parser.add_argument("--edge", choices=("ws", "socketio", "both"), default="both")
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument(
        "--frames", type=int, default=1, help="traceback depth per site (1: by line)"
    )
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--by-file", action="store_true", help="sum each file's sites")
    args = parser.parse_args(argv)
    if args.command == "serve":
        _serve(args.port, args.frames)
        return
    raise_open_files(args.connections * 2 + 1000)
    edges = ("ws", "socketio") if args.edge == "both" else (args.edge,)
    for edge in edges:
        measure(edge, args.connections, args.frames, args.top, args.by_file)


if __name__ == "__main__":
    main()
