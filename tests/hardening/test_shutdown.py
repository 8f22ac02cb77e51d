"""SIGTERM drains: clients are told to go, go elsewhere and miss nothing."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid

import httpx
import socketio
import websockets

from tests.redis.conftest import Cluster
from tests.support.followers import Follower, SocketIOFollower, WebSocketFollower
from tests.support.processes import GatewayProcess
from tests.support.scrape import eventually, scrape
from tests.support.stalled import RawSocketIO, read_to_close, stalled_connect

COUNT = 200
INTERVAL = 0.01  # seconds between publications: a steady stream


async def _publish_stream(url: str, channel: str, count: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        for seq in range(count):
            response = await http.post(
                "/api/publish",
                json={"channel": channel, "type": "log_entry", "data": {"seq": seq}},
            )
            assert response.status_code == 200, response.text
            await asyncio.sleep(INTERVAL)


async def test_sigterm_hands_clients_over_to_another_process(cluster: Cluster) -> None:
    """On SIGTERM A exits 0, its clients move to B and get every message once."""
    a, b = cluster(2)
    channel = "execution:" + uuid.uuid4().hex[:10]
    sockets = [WebSocketFollower(channel) for _ in range(2)]
    sios = [SocketIOFollower(channel) for _ in range(2)]
    followers: list[Follower] = [*sockets, *sios]
    for ws in sockets:
        await ws.connect(a.ws_url)
    for sio in sios:
        await sio.connect(a.url)

    stream = asyncio.create_task(_publish_stream(b.url, channel, COUNT))
    try:
        for follower in followers:
            await follower.wait_for(COUNT // 5)
        a.signal(signal.SIGTERM)
        for ws in sockets:
            await ws.closed()
            assert ws.close_code == 1012
        for sio in sios:
            assert sio.client is not None
            await eventually(lambda sio=sio: not sio.client.connected)
        assert not stream.done()  # cut mid-stream
        exited = asyncio.create_task(asyncio.to_thread(a.wait))

        # Straight back, as a client would, while A finishes stopping.
        for ws in sockets:
            await ws.connect(b.ws_url)
        for sio in sios:
            await sio.connect(b.url)
        assert await exited == 0
        await stream
        for follower in followers:
            await follower.wait_for(COUNT)
    finally:
        stream.cancel()
        for follower in followers:
            await follower.close()

    for follower in followers:
        assert follower.seqs() == list(range(COUNT)), type(follower).__name__
        offsets = [m["offset"] for m in follower.messages]
        assert offsets == list(range(1, COUNT + 1))
    for sio in sios:
        assert sio.acks[-1]["recovered"] is True
    for ws in sockets:
        assert [r["recovered"] for r in ws.recoveries] == [True]


def _memory_env(drain: float) -> dict[str, str]:
    return {
        "REALTIME_REDIS_URL": "",
        "REALTIME_JWT_SECRET": "",
        "REALTIME_API_KEY": "",
        "REALTIME_DRAIN_TIMEOUT": str(drain),
        "REALTIME_MAX_PUBLISH_BYTES": str(4 * 1024 * 1024),
    }


async def test_sigterm_on_memory_backend_exits_0_within_drain_time() -> None:
    """With clients connected, SIGTERM ends the process (exit 0) within the drain."""
    drain = 5.0
    with GatewayProcess(_memory_env(drain)) as gateway:
        ws = await websockets.connect(f"{gateway.ws_url}/ws/monitor")
        assert "connection" in str(await ws.recv())
        sio = socketio.AsyncClient(reconnection=False)
        await sio.connect(
            gateway.url, namespaces=["/monitor"], transports=["websocket"]
        )

        started = time.monotonic()
        gateway.signal(signal.SIGTERM)
        code = await asyncio.to_thread(gateway.wait, drain)
        elapsed = time.monotonic() - started

        assert code == 0, gateway.log
        assert elapsed < drain
        try:
            async for _ in ws:
                pass
        except websockets.ConnectionClosed:
            pass
        assert ws.close_code == 1012
        await eventually(lambda: not sio.connected)
        await sio.disconnect()


async def test_sigterm_with_stalled_clients_exits_0_soon_after_drain_time() -> None:
    """Clients that stopped reading are dropped when the drain time is up."""
    drain = 1.5
    with GatewayProcess(_memory_env(drain)) as gateway:
        channel_id = uuid.uuid4().hex[:10]
        ws = await stalled_connect(f"{gateway.ws_url}/ws/execution/{channel_id}")
        await ws.recv()
        sio = await RawSocketIO.connect(gateway.url, "/execution")
        assert (await sio.call("subscribe", {"id": channel_id}))["ok"] is True
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
            # About 5 MiB each: more than loopback buffers hold, less than
            # the default queue bounds, so both are stuck but not cut.
            for batch in range(20):
                body = [
                    {
                        "channel": f"execution:{channel_id}",
                        "type": "log_entry",
                        "data": {"seq": batch * 8 + i, "line": "x" * 32 * 1024},
                    }
                    for i in range(8)
                ]
                response = await http.post("/api/publish", json=body)
                assert response.status_code == 200, response.text
        metrics = await scrape(gateway.url)
        assert metrics.value("realtime_slow_disconnects_total") is None

        started = time.monotonic()
        gateway.signal(signal.SIGTERM)
        code = await asyncio.to_thread(gateway.wait, drain + 10)
        elapsed = time.monotonic() - started

        assert code == 0, gateway.log
        assert drain <= elapsed < drain + 4, gateway.log
        assert "Exception in ASGI application" not in gateway.log
        # Reading again, each finds what had reached it, then the end.
        for connection in (ws, sio.connection):
            await read_to_close(connection)
