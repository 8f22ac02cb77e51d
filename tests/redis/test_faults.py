"""Redis going away, going silent, and gateway processes dying mid-stream."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from pathlib import Path

import httpx

from tests.redis.conftest import Cluster
from tests.support.followers import Follower, SocketIOFollower, WebSocketFollower
from tests.support.processes import GatewayProcess, RedisProcess


def _channel() -> str:
    return "execution:" + uuid.uuid4().hex[:10]


async def _publish_stream(
    urls: list[str], channel: str, count: int, *, pause: float = 0.01
) -> list[int]:
    """Publish seq 0..count-1 round-robin, retrying each until accepted.

    Returns the HTTP statuses of refused attempts: a publisher is told, never
    silently dropped.
    """
    refusals: list[int] = []
    async with httpx.AsyncClient(timeout=10) as client:
        for seq in range(count):
            body = {"channel": channel, "type": "log_entry", "data": {"seq": seq}}
            attempt = 0
            while True:
                url = urls[(seq + attempt) % len(urls)]
                try:
                    response = await client.post(f"{url}/api/publish", json=body)
                except httpx.TransportError:
                    refusals.append(0)
                else:
                    if response.status_code == 200:
                        break
                    assert response.json()["error"] == "backend_unavailable"
                    refusals.append(response.status_code)
                attempt += 1
                await asyncio.sleep(0.05)
            await asyncio.sleep(pause)
    return refusals


def _assert_each_once_in_order(followers: list[Follower], count: int) -> None:
    for follower in followers:
        assert follower.seqs() == list(range(count)), type(follower).__name__


async def _health(gateway: GatewayProcess) -> int:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"{gateway.url}/health")).status_code


async def _until(predicate: object, timeout: float = 15) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "condition never held"
        await asyncio.sleep(0.05)


async def test_redis_restart_mid_stream_loses_nothing(
    cluster: Cluster, tmp_path: Path
) -> None:
    """Health and publishes say 503 during the outage; then every client catches up."""
    redis = RedisProcess(tmp_path).start()
    try:
        a, b = cluster(2, redis=redis)
        channel = _channel()
        followers: list[Follower] = [
            WebSocketFollower(channel),
            SocketIOFollower(channel),
        ]
        await followers[0].connect(a.ws_url)
        await followers[1].connect(b.url)

        stream = asyncio.create_task(_publish_stream([a.url, b.url], channel, 120))
        await followers[0].wait_for(40)
        redis.stop()

        async def degraded() -> bool:
            return await _health(a) == 503 and await _health(b) == 503

        await _until(degraded)
        await asyncio.sleep(0.5)
        redis.start()

        async def healthy() -> bool:
            return await _health(a) == 200 and await _health(b) == 200

        await _until(healthy)
        refusals = await asyncio.wait_for(stream, 60)
        for follower in followers:
            await follower.wait_for(120, timeout=20)
        await asyncio.sleep(0.3)  # a duplicate would arrive about now
        _assert_each_once_in_order(followers, 120)
        assert refusals, "the outage refused no publication"
        assert set(refusals) <= {0, 503}
        assert a.returncode is None
        assert b.returncode is None
        for follower in followers:
            await follower.close()
    finally:
        redis.stop()


async def test_a_silent_redis_link_is_replaced(
    cluster: Cluster, tmp_path: Path
) -> None:
    """A frozen Redis leaves no listener deaf: the silence is noticed and healed."""
    redis = RedisProcess(tmp_path).start()
    try:
        (gateway,) = cluster(1, redis=redis)
        channel = _channel()
        follower = WebSocketFollower(channel)
        await follower.connect(gateway.ws_url)

        redis.signal(signal.SIGSTOP)

        async def noticed() -> bool:
            return "went silent" in gateway.log

        await _until(noticed, timeout=20)
        redis.signal(signal.SIGCONT)

        await _publish_stream([gateway.url], channel, 5)
        await follower.wait_for(5, timeout=20)
        _assert_each_once_in_order([follower], 5)
        await follower.close()
    finally:
        redis.signal(signal.SIGCONT)
        redis.stop()


async def test_clients_of_a_killed_process_recover_on_another(cluster: Cluster) -> None:
    """SIGKILL one process mid-stream: its clients recover elsewhere, lose nothing."""
    a, b = cluster(2)
    channel = _channel()
    ws, sio = WebSocketFollower(channel), SocketIOFollower(channel)
    await ws.connect(a.ws_url)
    await sio.connect(a.url)

    stream = asyncio.create_task(_publish_stream([b.url], channel, 100))
    await ws.wait_for(30)
    a.kill()
    await ws.closed()
    await sio.disconnected()
    await ws.connect(b.ws_url)
    await sio.connect(b.url)

    await asyncio.wait_for(stream, 60)
    for follower in (ws, sio):
        await follower.wait_for(100)
    await asyncio.sleep(0.3)
    _assert_each_once_in_order([ws, sio], 100)
    assert ws.recoveries[-1]["recovered"] is True
    assert sio.acks[-1]["recovered"] is True
    await ws.close()
    await sio.close()


async def test_a_cut_pubsub_link_loses_nothing(
    cluster: Cluster, redis_server: RedisProcess
) -> None:
    """Killing the listener's connection while Redis stays up leaves no gap."""
    import redis.asyncio as aioredis

    a, b = cluster(2)
    channel = _channel()
    followers: list[Follower] = [WebSocketFollower(channel), SocketIOFollower(channel)]
    await followers[0].connect(a.ws_url)
    await followers[1].connect(b.url)

    stream = asyncio.create_task(_publish_stream([a.url, b.url], channel, 150))
    admin = aioredis.Redis.from_url(redis_server.url)
    try:
        while not stream.done():
            await admin.client_kill_filter(_type="pubsub")
            await asyncio.sleep(0.15)
    finally:
        await admin.aclose()
    await stream
    for follower in followers:
        await follower.wait_for(150, timeout=20)
    await asyncio.sleep(0.3)
    _assert_each_once_in_order(followers, 150)
    for follower in followers:
        await follower.close()
