"""Running the gateway under uvicorn, with a drain before shutdown."""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn

from realtime.collector import freeze_startup_objects, set_young_threshold
from realtime.gateway import Gateway
from realtime.settings import Settings

logger = logging.getLogger(__name__)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What the gateway asks of uvicorn, wherever it is started from."""
    return {
        "ws_max_size": settings.max_message_bytes,
        "ws_per_message_deflate": False,
        # Offers the edges a way to write prebuilt frames (edges/fastpath.py).
        "ws": "realtime.edges.fastpath:FastWebSocketProtocol",
        "proxy_headers": True,
        "forwarded_allow_ips": settings.trusted_proxies,
        "log_config": None,
        "lifespan": "on",
        "timeout_graceful_shutdown": settings.drain_timeout + 5,
    }


class GatewayServer(uvicorn.Server):
    """uvicorn, but on SIGTERM the gateway drains before uvicorn cuts connections.

    uvicorn alone closes every WebSocket with 1012 at once, dropping what was
    still queued for it. Here listening stops first, then every connection
    sends what it has and is told to reconnect elsewhere, then uvicorn's own
    shutdown runs.
    """

    def __init__(self, config: uvicorn.Config, gateway: Gateway) -> None:
        super().__init__(config)
        self.gateway = gateway

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            freeze_startup_objects()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        await self.gateway.drain()
        await super().shutdown(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            # uvicorn re-raises a handled signal once it has shut down, so the
            # process would die of SIGTERM (status -15) after a complete drain.
            # A drained stop is a clean one: exit 0, as process managers expect.
            self._captured_signals = [
                captured
                for captured in self._captured_signals
                if captured != signal.SIGTERM
            ]


def serve(settings: Settings, host: str, port: int) -> None:
    from realtime.app import create_app

    set_young_threshold(settings.gc_threshold)
    app = create_app(settings)
    config = uvicorn.Config(app, host=host, port=port, **uvicorn_options(settings))
    GatewayServer(config, app.state.gateway).run()
