"""Where a delivery's time goes: py-spy on the gateway while it is saturated."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.loadgen import Loadgen
from bench.proc import cpu_seconds, pin
from bench.scenarios import Plan, connect
from bench.servers import ServerProcess, ServerSpec

logger = logging.getLogger("bench")

PY_SPY = "py-spy==0.4.3"

# A sample belongs to the innermost frame whose file matches one of these,
# tried in this order; C code (orjson, uvloop's transport) has no frame of its
# own, so its time lands on the Python frame that called it.
LAYERS: tuple[tuple[str, str], ...] = (
    ("realtime/bus/", "gateway: bus dispatch"),
    ("realtime/edges/", "gateway: edge (connection, outbox)"),
    ("realtime/protocol/", "gateway: envelope and parsing"),
    ("realtime/http/", "gateway: publish endpoint"),
    ("realtime/", "gateway: other"),
    ("engineio/", "python-engineio"),
    ("socketio/", "python-socketio"),
    ("websockets/", "websockets (framing, writes)"),
    ("uvicorn/protocols/websockets/", "uvicorn websocket glue"),
    ("uvicorn/protocols/http/", "uvicorn HTTP (the publish request)"),
    ("starlette/", "starlette / FastAPI"),
    ("fastapi/", "starlette / FastAPI"),
    ("uvicorn/", "uvicorn other"),
    ("asyncio/", "asyncio (tasks, futures, queues)"),
)

# Leaf functions whose own time is a C call worth naming on its own: without
# native frames py-spy charges uvloop's transport.write (and the send()
# syscall under it) to the Python function that called it.
LEAVES: dict[str, str] = {
    "FrameSink.write": "socket writes (uvloop transport.write, send syscall)",
    "RequestResponseCycle.send": "uvicorn HTTP (the publish request)",
}

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


@dataclass
class Profile:
    key: str
    samples: int = 0
    seconds: float = 0.0
    deliveries: int = 0
    server_cpu_seconds: float = 0.0
    layers: dict[str, int] = field(default_factory=dict)
    functions: list[tuple[str, int]] = field(default_factory=list)
    command: str = ""

    @property
    def us_per_delivery(self) -> float | None:
        if not self.deliveries:
            return None
        return 1e6 * self.server_cpu_seconds / self.deliveries


def _frame(text: str) -> tuple[str, str]:
    match = _FRAME.match(text)
    if match is None:
        return text, ""
    return match["function"], match["file"]


def _layer(path: str) -> str:
    for marker, name in LAYERS:
        if marker in path:
            return name
    return "other"


def summarize(collapsed: str) -> tuple[Counter[str], Counter[str], int]:
    """Samples per layer and per leaf function from py-spy's ``--format raw``."""
    layers: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";")]
        # py-spy lists a stack root first: the leaf is the last frame.
        frames = [f for f in frames if f[1]] or frames
        total += count
        function, path = frames[-1]
        functions[f"{function} ({_short(path)})"] += count
        layer = LEAVES.get(function, "other")
        for _, frame_path in reversed(frames):
            if layer != "other":
                break
            layer = _layer(frame_path)
        layers[layer] += count
    return layers, functions, total


def _short(path: str) -> str:
    for marker in ("site-packages/", "lib/python3"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def py_spy_command() -> list[str]:
    uvx = shutil.which("uvx")
    if uvx is not None:
        return [uvx, PY_SPY]
    uv = shutil.which("uv")
    if uv is None:
        raise RuntimeError("neither uvx nor uv is on the PATH, needed for py-spy")
    return [uv, "tool", "run", PY_SPY]


def profile(
    spec: ServerSpec,
    plan: Plan,
    server_core: int,
    loadgen_core: int,
    loadgen: Loadgen,
    raw: Path,
    seconds: float,
) -> Profile:
    """Record ``seconds`` of the server saturated by ``plan.main`` subscribers."""
    result = Profile(spec.key)
    output = raw / f"profile-{spec.key}.txt"
    with ServerProcess(spec, server_core, raw / "logs" / f"{spec.key}.log") as server:
        loadgen.target(server)
        connect(loadgen, plan, plan.main)
        command = [
            *pin(loadgen_core),
            *py_spy_command(),
            "record",
            "--pid",
            str(server.pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "200",
            # Sample without stopping the server, so the profile costs it nothing.
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(output),
        ]
        result.command = " ".join(command)
        spy = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        time.sleep(1.0)  # py-spy attaches before the load starts
        before = cpu_seconds(server.pid)
        phase: dict[str, Any] = loadgen.call(
            "saturate", window=plan.window, seconds=seconds, pad=plan.pad
        )
        result.server_cpu_seconds = cpu_seconds(server.pid) - before
        result.deliveries = int(phase["delivered"])
        _, errors = spy.communicate(timeout=seconds + 60)
        loadgen.call("closeAll")
    if spy.returncode != 0 or not output.is_file():
        raise RuntimeError(f"py-spy failed ({spy.returncode}): {errors[-500:]}")
    layers, functions, total = summarize(output.read_text())
    result.samples = total
    result.seconds = seconds
    result.layers = dict(layers.most_common())
    result.functions = functions.most_common(12)
    logger.info("  %s: %d samples", spec.key, total)
    return result
