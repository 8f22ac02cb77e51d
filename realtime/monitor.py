"""The gateway's own reports on the ``monitor`` channel (``system_metrics``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import psutil

from realtime.gateway import Gateway
from realtime.protocol.channels import MONITOR
from realtime.protocol.envelope import gateway_message

logger = logging.getLogger(__name__)


class MetricsReporter:
    """Every ``interval`` seconds, tells ``monitor`` followers how the process does."""

    def __init__(self, gateway: Gateway, interval: float) -> None:
        self._gateway = gateway
        self._interval = interval
        self._process = psutil.Process()
        self._task: asyncio.Task[None] | None = None
        self._last = (time.monotonic(), 0, 0)
        self._process.cpu_percent()  # the first reading only starts the clock

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="system_metrics")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def snapshot(self) -> dict[str, Any]:
        gateway = self._gateway
        stats = gateway.bus.stats
        now = time.monotonic()
        then, dispatched, delivered = self._last
        elapsed = max(now - then, 1e-6)
        self._last = (now, stats.dispatched, stats.delivered)
        memory = self._process.memory_info()
        return {
            "connections": gateway.connection_totals(),
            "connections_by_namespace": gateway.connections_by_namespace(),
            "channels": gateway.bus.channel_count,
            "messages_per_second": round((stats.dispatched - dispatched) / elapsed, 2),
            "deliveries_per_second": round((stats.delivered - delivered) / elapsed, 2),
            "messages_total": stats.dispatched,
            "deliveries_total": stats.delivered,
            "memory_rss_bytes": memory.rss,
            "cpu_percent": self._process.cpu_percent(),
            "backend": gateway.bus.backend.name,
            "backend_healthy": gateway.bus.backend.healthy,
            "uptime_seconds": round(time.time() - gateway.started_at, 3),
        }

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                message = gateway_message(
                    "system_metrics", self.snapshot(), channel=MONITOR.name
                )
                self._gateway.bus.broadcast(MONITOR, message)
            except Exception:
                logger.exception("system_metrics failed")
