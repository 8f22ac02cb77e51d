"""Several gateway processes on one Redis behave as one gateway."""

from __future__ import annotations

import asyncio
import os
import uuid

import httpx
from asgiref.sync import async_to_sync

from realtime.channel_layer import RealtimeChannelLayer
from realtime.publisher import AsyncPublisher, Publisher
from tests.redis.conftest import Cluster
from tests.support.followers import Follower, SocketIOFollower, WebSocketFollower
from tests.support.processes import RedisProcess


def _channel() -> str:
    return "execution:" + uuid.uuid4().hex[:10]


async def _publish_http(url: str, channel: str, seq: int) -> int:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{url}/api/publish",
            json={"channel": channel, "type": "log_entry", "data": {"seq": seq}},
        )
    assert response.status_code == 200, response.text
    offset: int = response.json()["results"][0]["offset"]
    return offset


def _assert_all_in_order(followers: list[Follower], count: int) -> None:
    for follower in followers:
        assert follower.seqs() == list(range(count)), type(follower).__name__
        offsets = [m["offset"] for m in follower.messages]
        assert offsets == sorted(set(offsets))


async def test_every_process_delivers_every_publication_once_in_order(
    cluster: Cluster, redis_server: RedisProcess, prefix: str
) -> None:
    """HTTP, the Python publisher and the channel layer reach clients on all three."""
    a, b, c = cluster(3)
    channel = _channel()
    followers: list[Follower] = [
        WebSocketFollower(channel),
        SocketIOFollower(channel),
        WebSocketFollower(channel),
        SocketIOFollower(channel),
    ]
    for follower, gateway in zip(followers, [a, b, c, a], strict=True):
        url = gateway.ws_url if isinstance(follower, WebSocketFollower) else gateway.url
        await follower.connect(url)

    seq = 0
    for gateway in (a, b, c) * 5:
        await _publish_http(gateway.url, channel, seq)
        seq += 1

    env = {"REALTIME_REDIS_URL": redis_server.url, "REALTIME_REDIS_PREFIX": prefix}
    os.environ.update(env)
    try:
        with Publisher() as publisher:  # straight into Redis, no gateway involved
            for _ in range(10):
                publisher.publish(channel, "log_entry", {"seq": seq})
                seq += 1
        async with AsyncPublisher() as async_publisher:
            for _ in range(10):
                await async_publisher.publish(channel, "log_entry", {"seq": seq})
                seq += 1
        layer = RealtimeChannelLayer(redis_url=redis_server.url)
        group = "execution_" + channel.partition(":")[2]
        for _ in range(10):
            await layer.group_send(
                group, {"type": "log_update", "data": {"type": "log_entry", "seq": seq}}
            )
            seq += 1
        await layer.close()
    finally:
        for key in env:
            os.environ.pop(key)

    for follower in followers:
        await follower.wait_for(seq)
    await asyncio.sleep(0.2)  # a duplicate would arrive about now
    _assert_all_in_order(followers, seq)
    for follower in followers:
        await follower.close()


def test_channel_layer_works_from_synchronous_django_code(
    cluster: Cluster, redis_server: RedisProcess
) -> None:
    """async_to_sync(group_send) publishes, as the platform's Celery tasks call it."""
    (gateway,) = cluster(1)
    layer = RealtimeChannelLayer(url=gateway.url)
    for seq in range(3):
        async_to_sync(layer.group_send)(
            "execution_77",
            {"type": "log_update", "data": {"type": "log_entry", "seq": seq}},
        )
    follower_page = httpx.post(
        f"{gateway.url}/api/publish",
        json={"channel": "execution:77", "type": "probe", "data": {}},
    ).json()
    assert follower_page["results"][0]["offset"] == 4  # three from the layer before
    results = async_to_sync(layer.publish)(
        "global_monitor", {"type": "execution_update", "data": {"status": "ok"}}
    )
    async_to_sync(layer.close)()
    assert results[0].channel == "monitor"
    assert results[0].offset == 1


async def test_a_client_recovers_on_another_process(cluster: Cluster) -> None:
    """Offsets and history are shared: reconnecting elsewhere misses nothing."""
    a, b = cluster(2)
    channel = _channel()
    ws, sio = WebSocketFollower(channel), SocketIOFollower(channel)
    await ws.connect(a.ws_url)
    await sio.connect(a.url)
    for seq in range(5):
        await _publish_http(a.url, channel, seq)
    await ws.wait_for(5)
    await sio.wait_for(5)
    await ws.close()
    await sio.close()

    for seq in range(5, 12):
        await _publish_http(b.url, channel, seq)
    await ws.connect(b.ws_url)
    await sio.connect(b.url)
    for seq in range(12, 15):
        await _publish_http(a.url, channel, seq)

    await ws.wait_for(15)
    await sio.wait_for(15)
    _assert_all_in_order([ws, sio], 15)
    assert ws.recoveries[-1]["recovered"] is True
    assert sio.acks[-1]["recovered"] is True
    await ws.close()
    await sio.close()


async def test_idempotency_and_versions_hold_across_processes(cluster: Cluster) -> None:
    """A retried publication on another process answers with the first offset."""
    a, b = cluster(2)
    channel = _channel()
    body = {"channel": channel, "type": "log_entry", "data": {}, "idempotency_key": "k"}
    async with httpx.AsyncClient() as client:
        first = (await client.post(f"{a.url}/api/publish", json=body)).json()
        again = (await client.post(f"{b.url}/api/publish", json=body)).json()
        assert first == again

        status = {
            "channel": channel,
            "type": "execution_status",
            "data": {"s": "success"},
        }
        done = await client.post(f"{a.url}/api/publish", json={**status, "version": 9})
        late = await client.post(
            f"{b.url}/api/publish",
            json={**status, "data": {"s": "running"}, "version": 3},
        )
    assert done.json()["results"][0]["offset"] == 2
    assert late.json()["results"][0] == {
        "channel": channel,
        "offset": None,
        "stale": True,
    }

    follower = WebSocketFollower(channel)
    await follower.connect(b.ws_url)
    await follower.wait_for(1)
    assert follower.messages[0]["data"] == {"s": "success"}
    await follower.close()
