"""The servers under test: how to start each one, pinned, and where it listens."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from bench.proc import pin

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
LOADGEN_DIR = BENCH_DIR / "loadgen"
NODE_PEERS_DIR = BENCH_DIR / "peers" / "node"

Protocol = Literal["socketio", "ws"]


@dataclass(frozen=True)
class ServerSpec:
    """One row of the results: a server and the protocol its clients speak."""

    key: str
    label: str
    protocol: Protocol
    argv: tuple[str, ...]
    # The npm package folder this server needs installed, if any.
    needs_npm: Path | None = None
    # Started through `uv run --with`: check first that it installs at all.
    preflight: bool = False
    # Past this many subscribers a slow server only makes the run longer.
    max_subscribers: int | None = None
    env: tuple[tuple[str, str], ...] = ()
    note: str = ""

    def command(self, port: int) -> list[str]:
        return [part.replace("{port}", str(port)) for part in self.argv]


_PY = sys.executable
# Optional, so not in the project's dependencies: `uv run --with` brings them.
CHANNELS_PACKAGES = ("channels==4.3.2", "django==5.2.19")
_GATEWAY = (_PY, "-m", "realtime", "serve", "--host", "127.0.0.1", "--port", "{port}")

SERVERS: dict[str, ServerSpec] = {
    spec.key: spec
    for spec in (
        ServerSpec(
            "gateway-socketio",
            "gateway, Socket.IO edge",
            "socketio",
            _GATEWAY,
            note="`realtime serve`, memory backend, open auth, default settings",
        ),
        ServerSpec(
            "gateway-ws",
            "gateway, plain WebSocket edge",
            "ws",
            _GATEWAY,
            note="the same process, clients on `/ws/execution/{id}`",
        ),
        ServerSpec(
            "python-socketio",
            "bare python-socketio",
            "socketio",
            (_PY, "-m", "bench.peers.bare_socketio", "--port", "{port}"),
            note="AsyncServer in FastAPI under uvicorn, `sio.emit` to a room",
        ),
        ServerSpec(
            "fastapi-ws",
            "native FastAPI WebSocket",
            "ws",
            (_PY, "-m", "bench.peers.fastapi_ws", "--port", "{port}"),
            note="a dict of rooms, `await ws.send_text` to each member in turn",
        ),
        ServerSpec(
            "django-channels",
            "Django Channels 4",
            "ws",
            (
                "uv",
                "run",
                "--frozen",
                *(f"--with={package}" for package in CHANNELS_PACKAGES),
                "python",
                "-m",
                "bench.peers.channels_peer",
                "--port",
                "{port}",
            ),
            preflight=True,
            max_subscribers=1000,
            note="a consumer per client, `group_send` on the in-memory layer; "
            "measured up to 1,000 subscribers (each point takes a minute)",
        ),
        ServerSpec(
            "node-socketio",
            "Node socket.io 4.8",
            "socketio",
            ("node", str(NODE_PEERS_DIR / "socketio_server.mjs"), "--port", "{port}"),
            needs_npm=NODE_PEERS_DIR,
            note="`io.of('/execution').to(room).emit(...)`",
        ),
        ServerSpec(
            "node-ws",
            "Node ws 8",
            "ws",
            ("node", str(NODE_PEERS_DIR / "ws_server.mjs"), "--port", "{port}"),
            needs_npm=NODE_PEERS_DIR,
            note="a Set per room, `socket.send(text)` to each member",
        ),
    )
}


def preflight(spec: ServerSpec) -> str | None:
    """Why ``spec`` cannot run here, or None when its packages install."""
    if not spec.preflight:
        return None
    command = [*spec.argv[: spec.argv.index("python") + 1], "-c", "pass"]
    try:
        subprocess.run(command, cwd=ROOT, capture_output=True, check=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as error:
        detail = getattr(error, "stderr", b"") or b""
        return f"did not install from PyPI: {detail.decode(errors='replace')[-300:]}"
    return None


def terminate(process: subprocess.Popen[Any] | None, grace: float = 15) -> None:
    """SIGTERM a process the bench started, by its pid; SIGKILL after ``grace`` s."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def npm_ci(folder: Path) -> None:
    """Install ``folder``'s locked Node dependencies unless they are there."""
    if (folder / "node_modules").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not on the PATH: Node 18+ with npm is needed")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=folder,
        check=True,
    )


@dataclass
class ServerProcess:
    """One server under test on a free port, pinned to ``core``, stopped by pid."""

    spec: ServerSpec
    core: int
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    command: list[str] = field(default_factory=list)
    # The process to measure when it is not the one started (`uv run` is a
    # parent that waits): the server says its own pid in /health.
    served_by: int | None = None
    _log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self.served_by is not None:
            return self.served_by
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 30) -> ServerProcess:
        self.command = pin(self.core) + self.spec.command(self.port)
        env = {**os.environ, **dict(self.spec.env)}
        # The peers import bench.*; the gateway is installed in the venv.
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(ROOT), env.get("PYTHONPATH")])
        )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(self.url + "/health", timeout=2) as reply,
            ):
                if reply.status == 200:
                    health = json.loads(reply.read() or b"{}")
                    pid = health.get("pid") if isinstance(health, dict) else None
                    self.served_by = pid if isinstance(pid, int) else None
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"{self.spec.key} did not start; its log: {self.log_path}\n"
            + self.log_path.read_text(errors="replace")[-2000:]
        )

    def stop(self) -> None:
        terminate(self.process)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
