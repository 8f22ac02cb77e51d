"""The gateway served for real by uvicorn inside the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn

from realtime.app import create_app
from realtime.gateway import Gateway
from realtime.server import GatewayServer, uvicorn_options
from realtime.settings import Settings

# What every test gateway starts from; a test overrides what it is about.
BASE_SETTINGS: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 0,
    "redis_url": None,
    "api_key": None,
    "jwt_secret": None,
    "control_url": None,
    "metrics_interval": 3600,
    "demo": False,
}


class _Server(GatewayServer):
    """The server production runs (it drains connections before stopping).

    The test session owns the signal handlers, not each server in it.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class RunningGateway:
    settings: Settings
    app: Any
    server: uvicorn.Server
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def gateway(self) -> Gateway:
        gateway: Gateway = self.app.state.gateway
        return gateway

    @property
    def api_key(self) -> str | None:
        key = self.settings.api_key
        return key.get_secret_value() if key is not None else None


@contextlib.asynccontextmanager
async def running_gateway(**overrides: Any) -> AsyncIterator[RunningGateway]:
    """Serve ``create_app(Settings(...))`` on a free port until the block ends."""
    settings = Settings(**{**BASE_SETTINGS, **overrides})
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, **uvicorn_options(settings))
    server = _Server(config, app.state.gateway)
    task = asyncio.create_task(server.serve(), name="uvicorn")
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("uvicorn stopped before it started")
                await asyncio.sleep(0.005)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield RunningGateway(settings, app, server, port)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=15)
