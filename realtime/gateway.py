"""What both edges share: the bus, the token verifier and the answers they give."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from realtime.auth import TokenVerifier
from realtime.bus.bus import Bus
from realtime.control import ControlForwarder
from realtime.protocol.channels import Channel, ChannelKind
from realtime.protocol.envelope import Message, error_message, gateway_message
from realtime.protocol.errors import ErrorCode
from realtime.settings import Settings

# Transport labels: Socket.IO clients and plain WebSocket clients.
SOCKETIO = "socketio"
WEBSOCKET = "websocket"


@dataclass
class Gateway:
    settings: Settings
    bus: Bus
    verifier: TokenVerifier
    control: ControlForwarder | None = None
    started_at: float = field(default_factory=time.time)
    connections: Counter[tuple[str, str]] = field(default_factory=Counter)

    # -- connection counts ---------------------------------------------------

    def connected(self, transport: str, namespace: str) -> None:
        self.connections[transport, namespace] += 1

    def disconnected(self, transport: str, namespace: str) -> None:
        self.connections[transport, namespace] -= 1
        if self.connections[transport, namespace] <= 0:
            del self.connections[transport, namespace]

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

    @staticmethod
    def may_read(user_id: str | None, channel: Channel) -> bool:
        """Whether a connection of ``user_id`` may follow ``channel``."""
        if channel.kind is ChannelKind.USER:
            return user_id is not None and channel.id == user_id
        return True

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
