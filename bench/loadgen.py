"""The Python side of the Node load generator: one JSON line out, one back."""

from __future__ import annotations

import json
import logging
import os
import selectors
import subprocess
import time
from pathlib import Path
from typing import IO, Any

from bench.proc import CLOCK_TICKS, pin
from bench.servers import LOADGEN_DIR, ServerProcess

logger = logging.getLogger("bench")


class LoadgenError(RuntimeError):
    pass


class Loadgen:
    """``node loadgen.mjs`` pinned to ``core``; commands run one at a time."""

    def __init__(self, core: int, log_path: Path) -> None:
        self.core = core
        self.log_path = log_path
        self.command = [*pin(core), "node", str(LOADGEN_DIR / "loadgen.mjs")]
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[str] | None = None
        self._buffer = b""
        self._calls = 0

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def __enter__(self) -> Loadgen:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("a")
        self._process = subprocess.Popen(
            self.command,
            cwd=LOADGEN_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            try:
                self.call("exit", timeout=30)
                process.wait(10)
            except (LoadgenError, subprocess.TimeoutExpired, OSError):
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()

    def target(self, server: ServerProcess) -> None:
        self.call(
            "target",
            protocol=server.spec.protocol,
            url=server.url,
            publishUrl=server.url + "/api/publish",
            namespace="/execution",
            wsPath="/ws/execution/",
            channelId="bench",
            pid=server.pid,
            clockTicks=CLOCK_TICKS,
            serverCore=server.core,
        )

    def call(self, cmd: str, *, timeout: float = 300, **args: Any) -> dict[str, Any]:
        """Send one command and wait up to ``timeout`` seconds for its answer."""
        process = self._process
        assert process is not None
        assert process.stdin is not None
        assert process.stdout is not None
        self._calls += 1
        request = {"cmd": cmd, "id": self._calls, **args}
        process.stdin.write(json.dumps(request).encode() + b"\n")
        process.stdin.flush()
        started = time.monotonic()
        try:
            line = self._readline(process.stdout.fileno(), timeout)
        except LoadgenError:
            # Its state is unknown now and a late answer would be taken for
            # the next command's: nothing more is asked of this process.
            process.kill()
            raise
        logger.debug("%s took %.2fs", cmd, time.monotonic() - started)
        reply: dict[str, Any] = json.loads(line)
        if not reply.pop("ok", False):
            raise LoadgenError(f"{cmd}: {reply.get('error')}")
        if reply.pop("id", None) != self._calls:
            process.kill()
            raise LoadgenError(f"{cmd}: an answer to another command")
        return reply

    def _readline(self, fd: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LoadgenError(f"no answer within {timeout:.0f}s")
                if not selector.select(remaining):
                    continue
                # Whatever has arrived, without waiting for a full buffer.
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise LoadgenError(
                        "the load generator exited; its log: " + str(self.log_path)
                    )
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line
