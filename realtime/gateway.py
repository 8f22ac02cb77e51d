"""What both edges share: the bus, the token verifier and the answers they give."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from realtime.auth import Identity, TokenVerifier
from realtime.authz import Authorizer
from realtime.bus.bus import Bus
from realtime.control import ControlForwarder
from realtime.metrics import Metrics
from realtime.protocol.channels import Channel, ChannelKind
from realtime.protocol.envelope import Message, error_message, gateway_message
from realtime.protocol.errors import ErrorCode, ProtocolError
from realtime.settings import Settings

# Transport labels: Socket.IO clients and plain WebSocket clients.
SOCKETIO = "socketio"
WEBSOCKET = "websocket"

logger = logging.getLogger(__name__)


class Drainable(Protocol):
    """A connection that can be told to finish sending and go."""

    async def drain(self) -> None: ...


@dataclass
class Gateway:
    settings: Settings
    bus: Bus
    verifier: TokenVerifier
    authorizer: Authorizer = field(default_factory=Authorizer)
    control: ControlForwarder | None = None
    started_at: float = field(default_factory=time.time)
    connections: Counter[tuple[str, str]] = field(default_factory=Counter)
    users: Counter[str] = field(default_factory=Counter)
    open_connections: set[Drainable] = field(default_factory=set)
    draining: bool = False
    metrics: Metrics = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = Metrics(self._live_figures)
        self.bus.hooks.append(self.metrics.on_dispatch)

    def _live_figures(self) -> dict[str, object]:
        return {
            "connections": dict(self.connections),
            "subscriptions": self.bus.subscription_count,
            "channels": self.bus.channel_count,
            "backend_up": 1 if self.bus.backend.healthy else 0,
        }

    async def close(self) -> None:
        await self.authorizer.close()
        if self.control is not None:
            await self.control.close()

    # -- connection counts and limits ----------------------------------------

    def connected(self, transport: str, namespace: str) -> None:
        self.connections[transport, namespace] += 1

    def disconnected(self, transport: str, namespace: str) -> None:
        self.connections[transport, namespace] -= 1
        if self.connections[transport, namespace] <= 0:
            del self.connections[transport, namespace]

    def check_capacity(self) -> None:
        """Raise ``too_many_connections`` when this process is full or draining."""
        total = sum(self.connections.values())
        if self.draining or total >= self.settings.max_connections:
            raise ProtocolError(
                ErrorCode.TOO_MANY_CONNECTIONS, "this process takes no more connections"
            )

    def admit_user(self, user_id: str | None) -> None:
        """Count one more connection of ``user_id``, or refuse it past the limit."""
        if user_id is None:
            return
        if self.users[user_id] >= self.settings.max_connections_per_user:
            raise ProtocolError(
                ErrorCode.TOO_MANY_CONNECTIONS,
                "this user has too many connections open",
            )
        self.users[user_id] += 1

    def release_user(self, user_id: str | None) -> None:
        if user_id is None:
            return
        self.users[user_id] -= 1
        if self.users[user_id] <= 0:
            del self.users[user_id]

    def count_error(self, code: str) -> None:
        self.metrics.errors.labels(code).inc()

    async def drain(self) -> None:
        """Tell every connection to go, after sending what it has queued.

        Each gets ``REALTIME_DRAIN_TIMEOUT`` seconds; then it is cut.
        """
        self.draining = True
        if not self.open_connections:
            return
        logger.info("draining connections", extra={"count": len(self.open_connections)})
        drains = [asyncio.ensure_future(c.drain()) for c in list(self.open_connections)]
        _, pending = await asyncio.wait(drains, timeout=self.settings.drain_timeout)
        for task in pending:
            task.cancel()
        if pending:
            logger.warning("drain timed out", extra={"count": len(pending)})

    def connection_totals(self) -> dict[str, int]:
        totals = {SOCKETIO: 0, WEBSOCKET: 0}
        for (transport, _), count in self.connections.items():
            totals[transport] += count
        totals["total"] = totals[SOCKETIO] + totals[WEBSOCKET]
        return totals

    def connections_by_namespace(self) -> dict[str, dict[str, int]]:
        result: dict[str, dict[str, int]] = {}
        for (transport, namespace), count in sorted(self.connections.items()):
            result.setdefault(transport, {})[namespace] = count
        return result

    # -- answers both edges give ---------------------------------------------

    async def authorize(self, identity: Identity, channel: Channel) -> None:
        """Raise ``forbidden`` unless ``identity`` may follow ``channel``."""
        await self.authorizer.check(identity, channel)

    def status_message(self) -> Message:
        """``system_status``: what a monitor sees on connect."""
        totals = self.connection_totals()
        return gateway_message(
            "system_status",
            {
                "status": "degraded" if not self.bus.backend.healthy else "healthy",
                "active_connections": totals["total"],
                "connections": totals,
                "backend": self.bus.backend.name,
                "uptime_seconds": round(time.time() - self.started_at, 3),
            },
            channel="monitor",
        )

    async def state_message(self, channel: Channel) -> Message:
        page = await self.bus.read(channel)
        if page.state is None:
            return error_message(
                ErrorCode.NO_STATE,
                f"{channel.name} has no state yet",
                channel=channel.name,
            )
        return page.state

    async def logs_message(self, execution_id: str, since: int, limit: int) -> Message:
        """``execution_logs``: the kept log lines of one execution after ``since``."""
        channel = Channel(ChannelKind.EXECUTION, execution_id)
        page = await self.bus.read(channel, since)
        every_line = [m for m in page.messages if "log" in m.type]
        lines = every_line[:limit]
        return gateway_message(
            "execution_logs",
            {
                "execution_id": execution_id,
                "logs": [m.data for m in lines],
                "offset": lines[-1].offset if lines else since,
                "epoch": page.epoch,
                "complete": page.complete,
                "more": len(every_line) > limit,
            },
            channel=channel.name,
        )

    async def control_message(
        self, command: str, execution_id: str, user_id: str | None
    ) -> Message:
        if self.control is None:
            return error_message(
                ErrorCode.NOT_SUPPORTED, "control commands are not configured"
            )
        verdict = await self.control.forward(command, execution_id, user_id)
        return gateway_message(
            "control_result",
            verdict,
            channel=Channel(ChannelKind.EXECUTION, execution_id).name,
        )
