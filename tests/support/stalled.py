"""Clients that stop reading, so the gateway's queue for them fills up.

A ``websockets`` client with ``max_queue=1`` stops reading from its socket
once one frame waits unread; with a small receive buffer the kernel soon
stops taking more, and the gateway's writes back up into its own queue.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any
from urllib.parse import urlsplit

import orjson
import websockets
from websockets.asyncio.client import ClientConnection

TIMEOUT = 10.0
# Linux doubles what is asked; a few KiB keep the window tiny.
RECEIVE_BUFFER = 4096


async def _small_socket(url: str) -> socket.socket:
    """A TCP socket to ``url``'s host and port with a tiny receive buffer."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Set before connecting, so the window offered in the handshake is small.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (parts.hostname, parts.port))
    return sock


async def stalled_connect(url: str, **options: Any) -> ClientConnection:
    """A ``websockets`` connection that reads nothing unless asked to."""
    return await websockets.connect(
        url,
        sock=await _small_socket(url),
        max_queue=1,
        max_size=None,
        open_timeout=TIMEOUT,
        ping_interval=None,
        **options,
    )


async def read_to_close(
    connection: ClientConnection, timeout: float = TIMEOUT
) -> tuple[list[str | bytes], int | None]:
    """Resume reading: every frame still on its way, then the close code."""
    frames: list[str | bytes] = []

    async def read() -> None:
        try:
            while True:
                frames.append(await connection.recv())
        except websockets.ConnectionClosed:
            pass

    await asyncio.wait_for(read(), timeout)
    return frames, connection.close_code


class RawSocketIO:
    """Socket.IO spoken by hand over one WebSocket: EIO=4, no reconnection.

    It answers nothing on its own (not even engine.io pings), so a test
    decides exactly when it reads.
    """

    def __init__(self, connection: ClientConnection, namespace: str) -> None:
        self.connection = connection
        self.namespace = namespace
        self.handshake: dict[str, Any] = {}
        self._next_ack = 0

    @classmethod
    async def connect(
        cls, base_url: str, namespace: str, *, stalled: bool = True
    ) -> RawSocketIO:
        """Open engine.io over WebSocket and join ``namespace``."""
        url = base_url.replace("http://", "ws://", 1)
        url += "/socket.io/?EIO=4&transport=websocket"
        if stalled:
            connection = await stalled_connect(url)
        else:
            connection = await websockets.connect(url, max_size=None)
        client = cls(connection, namespace)
        opening = await client.recv_packet()
        assert opening.startswith("0"), opening
        client.handshake = orjson.loads(opening[1:])
        await connection.send(f"40{namespace},")
        joined = await client.recv_packet()
        assert joined.startswith(f"40{namespace},"), joined
        return client

    async def recv_packet(self, timeout: float = TIMEOUT) -> str:
        frame = await asyncio.wait_for(self.connection.recv(), timeout)
        assert isinstance(frame, str), frame
        return frame

    async def emit(self, event: str, data: Any, *, ack: bool = False) -> int | None:
        """Send an EVENT packet; with ``ack`` its id, to match the answer."""
        ack_id = None
        if ack:
            self._next_ack += 1
            ack_id = self._next_ack
        payload = orjson.dumps([event, data]).decode()
        await self.connection.send(
            f"42{self.namespace},{'' if ack_id is None else ack_id}{payload}"
        )
        return ack_id

    async def call(self, event: str, data: Any, timeout: float = TIMEOUT) -> Any:
        """Emit with an ack id and read packets until that ack comes back."""
        ack_id = await self.emit(event, data, ack=True)
        prefix = f"43{self.namespace},{ack_id}"
        while True:
            packet = await self.recv_packet(timeout)
            if packet.startswith(prefix):
                return orjson.loads(packet[len(prefix) :])[0]

    async def close(self) -> None:
        await self.connection.close()


def socketio_events(packets: list[str | bytes], namespace: str) -> list[Any]:
    """The ``[name, argument]`` of every EVENT packet on ``namespace``."""
    prefix = f"42{namespace},"
    return [
        orjson.loads(packet[len(prefix) :])
        for packet in packets
        if isinstance(packet, str) and packet.startswith(prefix)
    ]
