"""Clients that follow one channel across reconnects, as a real client would.

Each keeps every published message it received, in arrival order, and the
offset and epoch to recover from; ``reconnect`` may go to another process.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlencode

import orjson
import socketio
import websockets

TIMEOUT = 10.0


class Follower:
    """What both kinds of follower share: the kept messages and the position."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.messages: list[dict[str, Any]] = []
        self.recoveries: list[dict[str, Any]] = []
        self.since: int | None = None
        self.epoch: str | None = None
        self._arrived = asyncio.Event()

    def _take(self, message: dict[str, Any]) -> None:
        if message.get("channel") == self.channel and message.get("offset"):
            self.messages.append(message)
            self.since, self.epoch = message["offset"], message["epoch"]
        elif message["type"] == "recovery":
            self.recoveries.append(message["data"])
        elif message["type"] == "connection" and self.epoch is None:
            self.since, self.epoch = message["data"]["offset"], message["data"]["epoch"]
        self._arrived.set()

    def seqs(self) -> list[int]:
        return [m["data"]["seq"] for m in self.messages]

    async def wait_for(self, count: int, timeout: float = TIMEOUT) -> None:
        """Until ``count`` messages are kept; fails with what arrived."""

        async def enough() -> None:
            while len(self.messages) < count:
                self._arrived.clear()
                await self._arrived.wait()

        try:
            await asyncio.wait_for(enough(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"{self.channel}: {len(self.messages)} of {count}: {self.seqs()}"
            ) from None


class WebSocketFollower(Follower):
    def __init__(self, channel: str) -> None:
        super().__init__(channel)
        kind, _, channel_id = channel.partition(":")
        self.path = f"/ws/{kind}/{channel_id}" if channel_id else f"/ws/{kind}"
        self._socket: Any = None
        self._reader: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    async def connect(self, ws_url: str) -> None:
        query = ""
        if self.since is not None and self.epoch is not None:
            query = "?" + urlencode({"since": self.since, "epoch": self.epoch})
        self.connected.clear()
        self._socket = await websockets.connect(ws_url + self.path + query)
        self._reader = asyncio.create_task(self._read(self._socket))
        await asyncio.wait_for(self.connected.wait(), TIMEOUT)

    async def _read(self, socket: Any) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for frame in socket:
                message = orjson.loads(frame)
                self._take(message)
                if message["type"] == "connection":
                    self.connected.set()

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def closed(self, timeout: float = TIMEOUT) -> None:
        """Until the server ends the connection."""
        assert self._reader is not None
        await asyncio.wait_for(asyncio.shield(self._reader), timeout)

    @property
    def close_code(self) -> int | None:
        """The close code of the last connection, once it is closed."""
        return None if self._socket is None else self._socket.close_code


class SocketIOFollower(Follower):
    def __init__(self, channel: str) -> None:
        super().__init__(channel)
        kind, _, self.id = channel.partition(":")
        self.namespace = "/" + kind
        self.client: socketio.AsyncClient | None = None
        self.acks: list[dict[str, Any]] = []

    async def connect(self, url: str) -> None:
        client = self.client = socketio.AsyncClient(reconnection=False)

        @client.on("*", namespace=self.namespace)  # type: ignore[misc]
        async def on_any(event: str, envelope: dict[str, Any]) -> None:
            self._take(envelope)

        await client.connect(url, namespaces=[self.namespace], transports=["websocket"])
        request: dict[str, Any] = {"id": self.id}
        if self.since is not None and self.epoch is not None:
            request.update(since=self.since, epoch=self.epoch)
        ack = await client.call("subscribe", request, namespace=self.namespace)
        assert ack["ok"], ack
        self.acks.append(ack)
        if self.epoch is None:
            self.since, self.epoch = ack["offset"], ack["epoch"]

    async def close(self) -> None:
        if self.client is not None:
            await self.client.disconnect()

    async def disconnected(self, timeout: float = TIMEOUT) -> None:
        assert self.client is not None
        await asyncio.wait_for(self.client.wait(), timeout)
