"""A Socket.IO client that answers engine.io's pings stays connected."""

from __future__ import annotations

import asyncio
import time

from tests.support.clients import new_id, publish, sio_connect
from tests.support.gateway import running_gateway
from tests.support.scrape import eventually, scrape
from tests.support.stalled import RawSocketIO, read_to_close

# engine.io's timers, shortened from 25 s and 20 s so a test takes seconds
# (the interval goes to clients in whole seconds); a connection it thinks dead
# goes after PING_INTERVAL + PING_TIMEOUT.
PING_INTERVAL = 1
PING_TIMEOUT = 0.5
OUTLIVE = 2.5 * (PING_INTERVAL + PING_TIMEOUT)


async def test_socketio_client_outlives_ping_interval_and_timeout() -> None:
    """Connected over WebSocket, a client keeps its connection past the ping timers."""
    async with running_gateway() as gateway:
        engineio = gateway.app.engineio_server.eio
        engineio.ping_interval, engineio.ping_timeout = PING_INTERVAL, PING_TIMEOUT
        channel_id = new_id()
        async with sio_connect(gateway, "/execution") as client:
            assert (await client.call("subscribe", {"id": channel_id}))["ok"] is True
            started, seq = time.monotonic(), 0
            while time.monotonic() - started < OUTLIVE:
                await publish(gateway, f"execution:{channel_id}", "log_entry", {})
                seq += 1
                assert (await client.next_of("log_entry"))["offset"] == seq
                await asyncio.sleep(PING_INTERVAL / 2)
            assert client.client.connected
            metrics = await scrape(gateway.url)
            connected = {"transport": "socketio", "namespace": "/execution"}
            assert metrics.value("realtime_connections", **connected) == 1


async def test_quiet_socketio_client_answering_pings_is_kept() -> None:
    """With nothing published, a client that answers every PING is not dropped."""
    async with running_gateway() as gateway:
        engineio = gateway.app.engineio_server.eio
        engineio.ping_interval, engineio.ping_timeout = PING_INTERVAL, PING_TIMEOUT
        client = await RawSocketIO.connect(gateway.url, "/execution", stalled=False)
        assert client.handshake["pingInterval"] == PING_INTERVAL * 1000
        pings = 0
        started = time.monotonic()
        while time.monotonic() - started < OUTLIVE:
            packet = await client.recv_packet(timeout=2 * PING_INTERVAL)
            assert packet == "2", packet  # engine.io PING, nothing else
            pings += 1
            await client.connection.send("3")  # PONG
        assert pings >= 3
        ack = await client.call("subscribe", {"id": new_id()})
        assert ack["ok"] is True
        await client.close()


async def test_socketio_client_that_stops_answering_pings_is_dropped() -> None:
    """A client that never answers PING is dropped after the ping timers."""
    async with running_gateway() as gateway:
        engineio = gateway.app.engineio_server.eio
        engineio.ping_interval, engineio.ping_timeout = PING_INTERVAL, PING_TIMEOUT
        client = await RawSocketIO.connect(gateway.url, "/execution", stalled=False)
        started = time.monotonic()
        frames, _ = await read_to_close(client.connection, timeout=OUTLIVE)
        assert time.monotonic() - started >= PING_INTERVAL + PING_TIMEOUT
        assert "2" in frames  # it was asked
        await eventually(lambda: not gateway.gateway.connection_totals()["total"])
