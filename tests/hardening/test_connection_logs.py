"""At INFO a connection is logged once when it opens and once when it closes."""

from __future__ import annotations

import asyncio
import re
import signal
from typing import Any

import orjson
import pytest
import socketio
import websockets

from tests.support.processes import GatewayProcess

PEER = re.compile(r"^127\.0\.0\.1:\d+$")


@pytest.fixture(scope="module")
async def entries() -> list[dict[str, Any]]:
    """A gateway's JSON log at INFO after one client of each protocol came and went."""
    env = {
        "REALTIME_LOG_FORMAT": "json",
        "REALTIME_LOG_LEVEL": "INFO",
        "REALTIME_REDIS_URL": "",
        "REALTIME_DRAIN_TIMEOUT": "2",
    }
    gateway = GatewayProcess(env).start()
    try:
        async with websockets.connect(f"{gateway.ws_url}/ws/execution/1") as ws:
            assert "connection" in str(await ws.recv())
        sio = socketio.AsyncClient(reconnection=False)
        await sio.connect(
            gateway.url, namespaces=["/execution"], transports=["websocket"]
        )
        await sio.disconnect()
    finally:
        gateway.signal(signal.SIGTERM)
        assert await asyncio.to_thread(gateway.wait) == 0
    return [orjson.loads(line) for line in gateway.output if line.strip()]


def _named(entries: list[dict[str, Any]], message: str) -> list[dict[str, Any]]:
    return [entry for entry in entries if entry["message"] == message]


async def test_a_websocket_connection_is_logged_once_each_way(
    entries: list[dict[str, Any]],
) -> None:
    """One connected and one disconnected line, each with the client and channel."""
    for message in ("websocket connected", "websocket disconnected"):
        (entry,) = _named(entries, message)
        assert entry["level"] == "INFO"
        assert PEER.match(entry["client"]), entry
        assert entry["channel"] == "execution:1"


async def test_a_socketio_connection_is_logged_once_each_way(
    entries: list[dict[str, Any]],
) -> None:
    """The connected line names the client's address; the namespace both lines."""
    (connected,) = _named(entries, "socket.io connected")
    assert PEER.match(connected["client"]), connected
    (disconnected,) = _named(entries, "socket.io disconnected")
    assert connected["namespace"] == disconnected["namespace"] == "/execution"
    assert connected["sid"] == disconnected["sid"]


async def test_uvicorn_handshake_lines_are_left_for_debug_runs(
    entries: list[dict[str, Any]],
) -> None:
    """uvicorn's "[accepted]" and "connection open/closed" lines repeat the above."""
    assert not [e for e in entries if e["logger"] == "uvicorn.error.websocket"]
    for entry in entries:
        text = entry["message"]
        assert "[accepted]" not in text, entry
        assert text not in {"connection open", "connection closed"}, entry
    # uvicorn's start and stop lines are not per connection: they stay.
    assert any(e["logger"] == "uvicorn.error" for e in entries)
