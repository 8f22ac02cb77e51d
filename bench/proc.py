"""What the bench reads about processes and the machine, straight from /proc."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import subprocess
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024


def cpu_seconds(pid: int) -> float:
    """The process's user + system CPU time, all its threads included."""
    text = Path(f"/proc/{pid}/stat").read_text()
    # The command name may contain spaces and parentheses: split after the last.
    fields = text[text.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / CLOCK_TICKS


def core_busy_seconds(core: int) -> float:
    """Seconds ``core`` spent on anything but idling, by any process."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{core} "):
            # user nice system idle iowait irq softirq steal
            user, nice, system, _, _, irq, softirq, steal = map(int, line.split()[1:9])
            return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS
    return 0.0


def quiesce(pid: int, limit: float = 10.0) -> None:
    """Wait, at most ``limit`` seconds, until ``pid`` stops using CPU.

    A server may still be tearing down the connections of the last phase;
    that work must not be charged to the next one.
    """
    deadline = time.monotonic() + limit
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = cpu_seconds(pid)
        if now - last < 0.02:
            return
        last = now


def rss_bytes(pid: int) -> int:
    resident = Path(f"/proc/{pid}/statm").read_text().split()[1]
    return int(resident) * PAGE_SIZE


def pin(core: int) -> list[str]:
    """A command prefix that runs the command on ``core`` alone.

    ``taskset`` sets the affinity before exec, so every thread the program
    starts (V8's and libuv's too) stays on that core.
    """
    return ["taskset", "--cpu-list", str(core)]


def raise_open_files(wanted: int) -> int:
    """Raise the soft limit on open files toward ``wanted``; return the new limit.

    Children inherit it: the server and the load generator each hold one
    descriptor per connection.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    ceiling = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < ceiling:
        resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))
        soft = ceiling
    return int(soft)


@dataclass
class Sampler:
    """RSS of one process every ``interval`` seconds, on a background thread."""

    pid: int
    interval: float = 0.1
    samples: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        started = time.monotonic()
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                self.samples.append((time.monotonic() - started, rss_bytes(self.pid)))
            self._stop.wait(self.interval)

    @property
    def peak(self) -> int:
        return max((rss for _, rss in self.samples), default=0)


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_total() -> int:
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def _node_version() -> str | None:
    try:
        done = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def _node_package(folder: Path, name: str) -> str | None:
    with contextlib.suppress(OSError, ValueError, KeyError):
        manifest = json.loads(
            (folder / "node_modules" / name / "package.json").read_text()
        )
        return str(manifest["version"])
    return None


PYTHON_PACKAGES = (
    "python-socketio",
    "python-engineio",
    "fastapi",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "websockets",
    "orjson",
)


def machine(
    loadgen_dir: Path, node_peers_dir: Path, optional: tuple[str, ...] = ()
) -> dict[str, object]:
    """The facts a reader needs to compare these numbers with their own."""
    python: dict[str, str] = {}
    for name in PYTHON_PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            python[name] = metadata.version(name)
    node: dict[str, str] = {}
    for folder, names in (
        (loadgen_dir, ("socket.io-client", "ws")),
        (node_peers_dir, ("socket.io", "ws")),
    ):
        for name in names:
            version = _node_package(folder, name)
            if version is not None:
                node[f"{name} ({folder.name})"] = version
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count() or 0,
        "memory_gib": round(_memory_total() / 1024**3, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": _node_version(),
        "python_packages": python,
        "node_packages": node,
        "optional_packages": list(optional),
    }
