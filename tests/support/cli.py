"""The ``realtime`` command run for real, as a subprocess of the test's loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

# The console script installed with the package, as a user runs it.
REALTIME = str(Path(sys.executable).with_name("realtime"))
TIMEOUT = 20.0
_LISTENING = re.compile(r"Uvicorn running on http://[^:]+:(\d+)")


def clean_env(**overrides: str) -> dict[str, str]:
    """The environment without any gateway settings, plus ``overrides``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("REALTIME_") and key not in {"REDIS_URL", "PORT"}
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str


async def run_realtime(*args: str, env: Mapping[str, str] | None = None) -> Finished:
    """Run ``realtime ARGS`` to its end."""
    process = await asyncio.create_subprocess_exec(
        REALTIME,
        *args,
        env=dict(env) if env is not None else clean_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return Finished(process.returncode, stdout.decode(), stderr.decode())


class Running:
    """A long-running ``realtime`` command whose output is read line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def line(self, timeout: float = 10) -> str:
        """The next line of stdout; fails at end of output."""
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        assert raw, "stdout ended"
        return raw.decode().rstrip("\n")

    async def stderr(self) -> str:
        assert self.process.stderr is not None
        return (await self.process.stderr.read()).decode()

    async def wait(self, timeout: float = 10) -> int:
        return await asyncio.wait_for(self.process.wait(), timeout)

    def interrupt(self) -> None:
        """Ctrl-C."""
        self.process.send_signal(signal.SIGINT)


@contextlib.asynccontextmanager
async def realtime_running(
    *args: str, env: Mapping[str, str] | None = None, merge_stderr: bool = False
) -> AsyncIterator[Running]:
    """``realtime ARGS`` running until the block ends, then stopped by its pid."""
    process = await asyncio.create_subprocess_exec(
        REALTIME,
        *args,
        env=dict(env) if env is not None else clean_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT if merge_stderr else asyncio.subprocess.PIPE,
    )
    try:
        yield Running(process)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()


async def port_of(running: Running) -> tuple[int, list[str]]:
    """Read a serving command's log until uvicorn says where it listens."""
    lines: list[str] = []
    while True:
        lines.append(await running.line(timeout=TIMEOUT))
        match = _LISTENING.search(lines[-1])
        if match:
            return int(match.group(1)), lines
