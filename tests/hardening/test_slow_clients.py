"""A client that stops reading is cut loose; everyone else gets everything."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson

from tests.support.clients import SIOClient, WSClient, new_id, sio_connect, ws_connect
from tests.support.gateway import RunningGateway, running_gateway
from tests.support.scrape import scrape
from tests.support.stalled import (
    RawSocketIO,
    read_to_close,
    socketio_events,
    stalled_connect,
)

# Small queues, big messages: a stalled client overflows after a few MiB
# (most of which the kernel buffers hold), a reading one never does.
SLOW = {
    "max_queue_messages": 32,
    "max_queue_bytes": 512 * 1024,
    "max_publish_bytes": 4 * 1024 * 1024,
}
PAD = "x" * 32 * 1024
BATCH = 8
MAX_BATCHES = 150  # 38 MiB: far more than loopback buffers hold
AFTER_CUT = 2  # batches published after the cut, to be recovered too

Receive = Callable[[], Awaitable[dict[str, Any]]]


async def _slow_disconnects(gateway: RunningGateway, transport: str) -> float:
    metrics = await scrape(gateway.url)
    return metrics.value("realtime_slow_disconnects_total", transport=transport) or 0


async def _publish_past_cut(
    gateway: RunningGateway, channel: str, transport: str, fast: list[Receive]
) -> int:
    """Publish batches until one client is cut, then a few more; how many."""
    seq = 0
    remaining = None
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        for _ in range(MAX_BATCHES):
            body = [
                {
                    "channel": channel,
                    "type": "log_entry",
                    "data": {"seq": seq + i, "line": PAD},
                }
                for i in range(BATCH)
            ]
            response = await http.post("/api/publish", json=body)
            assert response.status_code == 200, response.text
            # The fast clients keep up: each batch is read before the next.
            for receive in fast:
                for i in range(BATCH):
                    message = await receive()
                    assert message["data"]["seq"] == seq + i, message
            seq += BATCH
            if remaining is None and await _slow_disconnects(gateway, transport):
                remaining = AFTER_CUT
            if remaining is not None:
                if remaining == 0:
                    return seq
                remaining -= 1
    raise AssertionError(f"no slow disconnect after {seq} messages")


def _assert_prefix(messages: list[dict[str, Any]], channel: str) -> None:
    """Offsets 1, 2, 3 ... in order: what reached the client before the cut."""
    assert [m["channel"] for m in messages] == [channel] * len(messages)
    assert [m["offset"] for m in messages] == list(range(1, len(messages) + 1))
    assert [m["data"]["seq"] for m in messages] == list(range(len(messages)))


async def test_stalled_websocket_is_closed_4408_and_recovers() -> None:
    """A stalled WebSocket gets 4408, fast ones everything; it recovers in order."""
    async with running_gateway(**SLOW) as gateway:
        channel_id = new_id()
        channel, path = f"execution:{channel_id}", f"/ws/execution/{channel_id}"
        stalled = await stalled_connect(f"{gateway.ws_url}{path}")
        greeting = orjson.loads(await stalled.recv())
        assert greeting["type"] == "connection"
        epoch = greeting["data"]["epoch"]
        async with ws_connect(gateway, path) as one, ws_connect(gateway, path) as two:
            fast: list[WSClient] = [one, two]
            for client in fast:
                await client.next_of("connection")
            count = await _publish_past_cut(
                gateway, channel, "websocket", [c.next for c in fast]
            )
            metrics = await scrape(gateway.url)
            sample = metrics.value(
                "realtime_slow_disconnects_total", transport="websocket"
            )
            assert sample == 1
            for client in fast:
                await client.send({"type": "ping"})
                await client.next_of("pong")

        frames, code = await read_to_close(stalled)
        assert code == 4408
        before = [orjson.loads(frame) for frame in frames]
        _assert_prefix(before, channel)
        assert len(before) < count

        seen = before[-1]["offset"] if before else 0
        async with ws_connect(gateway, path, since=seen, epoch=epoch) as again:
            await again.next_of("connection")
            missed = [await again.next_of("log_entry") for _ in range(count - seen)]
            recovery = await again.next_of("recovery")
        assert recovery["data"]["recovered"] is True
        _assert_prefix(before + missed, channel)


async def test_stalled_socketio_is_cut_while_a_reading_client_gets_everything() -> None:
    """A raw Socket.IO client that stops reading is cut; a python-socketio one isn't."""
    async with running_gateway(**SLOW) as gateway:
        channel_id = new_id()
        channel = f"execution:{channel_id}"
        stalled = await RawSocketIO.connect(gateway.url, "/execution")
        ack = await stalled.call("subscribe", {"id": channel_id})
        assert ack["ok"] is True
        async with sio_connect(gateway, "/execution") as reader:
            assert (await reader.call("subscribe", {"id": channel_id}))["ok"] is True

            async def receive(client: SIOClient = reader) -> dict[str, Any]:
                return await client.next_of("log_entry")

            count = await _publish_past_cut(gateway, channel, "socketio", [receive])
            metrics = await scrape(gateway.url)
            sample = metrics.value(
                "realtime_slow_disconnects_total", transport="socketio"
            )
            assert sample == 1
            assert metrics.value("realtime_connections", transport="socketio") == 1
            assert reader.client.connected
            pong = await reader.call("ping")
            assert pong["type"] == "pong"

        # Reading again, it finds what was on its way, then its socket closes.
        frames, _ = await read_to_close(stalled.connection)
        before = [envelope for _, envelope in socketio_events(frames, "/execution")]
        _assert_prefix(before, channel)
        assert len(before) < count

        seen = before[-1]["offset"] if before else 0
        async with sio_connect(gateway, "/execution") as again:
            request = {"id": channel_id, "since": seen, "epoch": ack["epoch"]}
            recovered = await again.call("subscribe", request)
            assert recovered["recovered"] is True
            missed = [await again.next_of("log_entry") for _ in range(count - seen)]
        _assert_prefix(before + missed, channel)
