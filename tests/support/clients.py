"""Clients that queue what they receive, so a test awaits each message in turn."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import socketio
import websockets
from websockets.asyncio.client import ClientConnection

from tests.support.gateway import RunningGateway

TIMEOUT = 5.0


def new_id() -> str:
    """A channel id no other test uses."""
    return uuid.uuid4().hex[:12]


# -- plain WebSocket -----------------------------------------------------------


@dataclass(frozen=True)
class Closed:
    code: int | None
    reason: str | None


class WSClient:
    """A plain WebSocket client; every frame it receives lands on a queue."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.received: asyncio.Queue[dict[str, Any] | Closed] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for frame in self.socket:
                self.received.put_nowait(orjson.loads(frame))
        except websockets.ConnectionClosed:
            pass
        finally:
            self.received.put_nowait(
                Closed(self.socket.close_code, self.socket.close_reason)
            )

    async def next(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next message; fails if the connection closes first."""
        item = await asyncio.wait_for(self.received.get(), timeout)
        assert not isinstance(item, Closed), f"closed instead: {item}"
        return item

    async def next_of(self, type: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next message, which must be of ``type``."""
        message = await self.next(timeout)
        assert message["type"] == type, message
        return message

    async def closed(self, timeout: float = TIMEOUT) -> Closed:
        """Wait for the close; fails if a message arrives first."""
        item = await asyncio.wait_for(self.received.get(), timeout)
        assert isinstance(item, Closed), f"a message instead of a close: {item}"
        return item

    async def send(self, message: object) -> None:
        frame = message if isinstance(message, str | bytes) else orjson.dumps(message)
        if isinstance(frame, bytes) and not isinstance(message, bytes):
            frame = frame.decode()
        await self.socket.send(frame)

    async def ask(self, message: object, timeout: float = TIMEOUT) -> dict[str, Any]:
        """Send ``message`` and return the next message received."""
        await self.send(message)
        return await self.next(timeout)

    async def close(self) -> None:
        await self.socket.close()
        await self._reader


def ws_url(gateway: RunningGateway, path: str, **query: str | int | None) -> str:
    params = {key: str(value) for key, value in query.items() if value is not None}
    return gateway.ws_url + path + ("?" + urlencode(params) if params else "")


@contextlib.asynccontextmanager
async def ws_connect(
    gateway: RunningGateway,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    **query: str | int | None,
) -> AsyncIterator[WSClient]:
    """A plain WebSocket client on ``path``, closed when the block ends."""
    socket = await websockets.connect(
        ws_url(gateway, path, **query),
        additional_headers=headers,
        max_size=None,
        open_timeout=TIMEOUT,
    )
    client = WSClient(socket)
    try:
        yield client
    finally:
        await client.close()


@contextlib.asynccontextmanager
async def ws_joined(
    gateway: RunningGateway, path: str, **query: str | int | None
) -> AsyncIterator[WSClient]:
    """A client on ``path`` whose ``connection`` greeting was already read."""
    async with ws_connect(gateway, path, **query) as client:
        await client.next_of("connection")
        yield client


# -- Socket.IO -------------------------------------------------------------------


class SIOClient:
    """python-socketio's AsyncClient on one namespace, events queued in order."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.connect_errors: list[Any] = []
        self.client.on("*", self._on_event, namespace=namespace)
        self.client.on("connect_error", self._on_connect_error, namespace=namespace)

    async def _on_event(self, event: str, *args: Any) -> None:
        self.events.put_nowait((event, args[0] if args else None))

    async def _on_connect_error(self, data: Any = None) -> None:
        self.connect_errors.append(data)

    async def connect(
        self,
        gateway: RunningGateway,
        *,
        auth: dict[str, Any] | None = None,
        transports: list[str] | None = None,
        headers: dict[str, str] | None = None,
        query: str = "",
    ) -> None:
        await self.client.connect(
            gateway.url + (f"?{query}" if query else ""),
            auth=auth,
            headers=headers or {},
            transports=transports,
            namespaces=[self.namespace],
            wait_timeout=TIMEOUT,
        )

    async def next(self, timeout: float = TIMEOUT) -> tuple[str, Any]:
        """The next event as ``(name, argument)``."""
        return await asyncio.wait_for(self.events.get(), timeout)

    async def next_of(self, event: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next event, which must be named ``event``; its envelope."""
        name, data = await self.next(timeout)
        assert name == event, (name, data)
        return data  # type: ignore[no-any-return]

    async def call(self, event: str, data: Any = None, timeout: float = TIMEOUT) -> Any:
        """Emit ``event`` and return its acknowledgement."""
        return await self.client.call(
            event, data, namespace=self.namespace, timeout=timeout
        )

    async def disconnect(self) -> None:
        await self.client.disconnect()


@contextlib.asynccontextmanager
async def sio_connect(
    gateway: RunningGateway,
    namespace: str,
    *,
    transports: list[str] | None = None,
    **options: Any,
) -> AsyncIterator[SIOClient]:
    """A Socket.IO client on ``namespace`` (WebSocket only unless told otherwise)."""
    client = SIOClient(namespace)
    await client.connect(gateway, transports=transports or ["websocket"], **options)
    try:
        yield client
    finally:
        await client.disconnect()


# -- HTTP ------------------------------------------------------------------------


async def post_publish(
    gateway: RunningGateway,
    body: object = None,
    *,
    content: bytes | None = None,
    api_key: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """``POST /api/publish``, with the gateway's own API key unless told."""
    key = api_key if api_key is not None else gateway.api_key
    all_headers = {"Authorization": f"Bearer {key}"} if key else {}
    all_headers.update(headers or {})
    async with httpx.AsyncClient(base_url=gateway.url, timeout=TIMEOUT) as http:
        if content is not None:
            return await http.post("/api/publish", content=content, headers=all_headers)
        return await http.post("/api/publish", json=body, headers=all_headers)


async def publish(
    gateway: RunningGateway,
    channel: str | list[str],
    type: str,
    data: dict[str, Any] | None = None,
    **options: Any,
) -> list[dict[str, Any]]:
    """Publish one message; its results (the request must succeed)."""
    body: dict[str, Any] = {"type": type, "data": data or {}, **options}
    body["channels" if isinstance(channel, list) else "channel"] = channel
    response = await post_publish(gateway, body)
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


# -- the server still serves -----------------------------------------------------


async def assert_ws_serves(gateway: RunningGateway, token: str | None = None) -> None:
    """A new plain WebSocket client is greeted and answered."""
    async with ws_connect(gateway, f"/ws/execution/{new_id()}", token=token) as client:
        welcome = await client.next_of("connection")
        assert welcome["data"]["status"] == "healthy"
        await client.send({"type": "ping"})
        await client.next_of("pong")


async def assert_sio_serves(gateway: RunningGateway, token: str | None = None) -> None:
    """A new Socket.IO client connects and gets an acknowledgement."""
    auth = {"token": token} if token else None
    async with sio_connect(gateway, "/execution", auth=auth) as client:
        ack = await client.call("subscribe", {"id": new_id()})
        assert ack["ok"] is True


async def assert_http_serves(gateway: RunningGateway) -> None:
    """The publish API still accepts a good publication."""
    results = await publish(gateway, f"execution:{new_id()}", "execution_update")
    assert results[0]["offset"] == 1
