"""Running the frontend shim's Node tests and real gateways for them."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIM = ROOT / "frontend_shim"
DIST = ROOT / "realtime" / "web" / "dist"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))

# What a Node test run may take at most, npm ci included, on the 2-core CI machine.
NPM_TIMEOUT = 600.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def node_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # Plain output: it ends up in pytest's failure report.
    env.update({"NO_COLOR": "1", "FORCE_COLOR": "0", "CI": env.get("CI", "true")})
    env.update(extra or {})
    return env


def npm() -> str:
    found = shutil.which("npm")
    if found is None:
        pytest.fail("npm is not on PATH: the frontend tests need Node 20+ and npm")
    return found


def run_npm(
    args: list[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = NPM_TIMEOUT,
    context: Callable[[], str] | None = None,
) -> str:
    """Runs npm in frontend_shim/; fails the test with npm's output unless it passes."""
    try:
        done = subprocess.run(
            [npm(), *args],
            cwd=SHIM,
            env=node_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        output = error.stdout if isinstance(error.stdout, str) else ""
        extra = context() if context else ""
        pytest.fail(f"npm {' '.join(args)} timed out after {timeout}s\n{output}{extra}")
    if done.returncode != 0:
        extra = context() if context else ""
        pytest.fail(
            f"npm {' '.join(args)} exited {done.returncode}\n{done.stdout}{extra}"
        )
    return done.stdout


def ensure_node_modules() -> None:
    """Installs the shim's locked dependencies when they are missing (never skips)."""
    if (SHIM / "node_modules" / ".package-lock.json").is_file():
        return
    run_npm(["ci", "--no-audit", "--no-fund"])


@dataclass
class Gateway:
    url: str
    port: int
    log: Path
    env: dict[str, str]

    def log_tail(self, lines: int = 60) -> str:
        """The end of the gateway's log, for a failing test's report."""
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        return f"\n--- {self.log.name} (last {lines} lines) ---\n" + "\n".join(text)


def _clean_env(settings: Mapping[str, str]) -> dict[str, str]:
    # The developer's own REALTIME_* settings (a Redis URL, a secret) must not leak in.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("REALTIME_") and k not in ("REDIS_URL", "PORT")
    }
    env.update(settings)
    return env


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def gateway_process(
    log_dir: Path,
    settings: Callable[[int], Mapping[str, str]],
    *,
    name: str = "gateway",
) -> Iterator[Gateway]:
    """``python -m realtime serve`` on a free port; stopped by its pid afterwards.

    ``settings`` maps the chosen port to the REALTIME_ variables to run with.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = _clean_env(settings(port))
    log = log_dir / f"{name}-{port}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "realtime",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while not _healthy(url):
                if process.poll() is not None:
                    pytest.fail(
                        f"the gateway exited {process.returncode} before it served\n"
                        f"{log.read_text()}"
                    )
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"the gateway did not answer /health\n{log.read_text()}"
                    )
                time.sleep(0.1)
            yield Gateway(url=url, port=port, log=log, env=env)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
