"""Reconnecting with ?since=OFFSET&epoch=EPOCH: every missed message, once."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.clients import (
    new_id,
    post_publish,
    publish,
    ws_connect,
    ws_joined,
)
from tests.support.envelopes import assert_gateway_says, assert_published
from tests.support.gateway import RunningGateway, running_gateway


async def _epoch_of(gateway: RunningGateway, channel: str) -> str:
    async with ws_connect(gateway, "/ws/" + channel.replace(":", "/")) as client:
        epoch: str = (await client.next_of("connection"))["data"]["epoch"]
    return epoch


async def _publish_lines(gateway: RunningGateway, channel: str, count: int) -> None:
    body = [
        {"channel": channel, "type": "log_line", "data": {"n": n}} for n in range(count)
    ]
    response = await post_publish(gateway, body)
    assert response.status_code == 200, response.text


async def test_a_client_gets_what_came_after_since_then_recovery_then_live(
    gateway: RunningGateway,
) -> None:
    """The missed messages in order, recovery(recovered true), then live ones."""
    channel = f"execution:{new_id()}"
    await _publish_lines(gateway, channel, 5)
    epoch = await _epoch_of(gateway, channel)
    path = "/ws/" + channel.replace(":", "/")
    async with ws_joined(gateway, path, since=2, epoch=epoch) as client:
        missed = [await client.next() for _ in range(3)]
        recovery = await client.next()
        await publish(gateway, channel, "log_line")
        live = await client.next()
    assert [m["offset"] for m in missed] == [3, 4, 5]
    assert assert_gateway_says(recovery, "recovery") == {
        "recovered": True,
        "offset": 5,
        "epoch": epoch,
    }
    assert_published(live, "log_line", channel, 6)


async def test_since_zero_recovers_the_whole_history(gateway: RunningGateway) -> None:
    """since=0 asks for everything kept."""
    channel = f"project:{new_id()}"
    await _publish_lines(gateway, channel, 3)
    epoch = await _epoch_of(gateway, channel)
    path = "/ws/" + channel.replace(":", "/")
    async with ws_joined(gateway, path, since=0, epoch=epoch) as client:
        missed = [await client.next() for _ in range(3)]
        recovery = await client.next_of("recovery")
    assert [m["offset"] for m in missed] == [1, 2, 3]
    assert recovery["data"]["recovered"] is True


async def test_a_client_that_missed_nothing_is_recovered_with_nothing(
    gateway: RunningGateway,
) -> None:
    """since at the current offset: recovery straight away."""
    channel = f"execution:{new_id()}"
    await _publish_lines(gateway, channel, 2)
    epoch = await _epoch_of(gateway, channel)
    path = "/ws/" + channel.replace(":", "/")
    async with ws_joined(gateway, path, since=2, epoch=epoch) as client:
        recovery = await client.next_of("recovery")
    assert recovery["data"] == {"recovered": True, "offset": 2, "epoch": epoch}


async def test_recovery_does_not_send_the_state_twice(gateway: RunningGateway) -> None:
    """A recovering client gets the state once, in its place in history."""
    channel = f"execution:{new_id()}"
    await publish(gateway, channel, "execution_status", {"status": "running"})
    await publish(gateway, channel, "log_line")
    epoch = await _epoch_of(gateway, channel)
    path = "/ws/" + channel.replace(":", "/")
    async with ws_joined(gateway, path, since=1, epoch=epoch) as client:
        missed = await client.next()
        await client.next_of("recovery")
    assert_published(missed, "log_line", channel, 2)


async def test_a_wrong_epoch_is_not_recovered_and_gets_the_state(
    gateway: RunningGateway,
) -> None:
    """Another epoch: the state, then recovery(recovered false) with the new epoch."""
    channel = f"execution:{new_id()}"
    await publish(gateway, channel, "execution_status", {"status": "success"})
    await _publish_lines(gateway, channel, 3)
    path = "/ws/" + channel.replace(":", "/")
    async with ws_connect(gateway, path, since=1, epoch="stale-epoch") as client:
        welcome = await client.next_of("connection")
        state = await client.next()
        recovery = await client.next()
        await publish(gateway, channel, "log_line")
        live = await client.next()
    assert_published(state, "execution_status", channel, 1)
    data = assert_gateway_says(recovery, "recovery")
    assert data == {"recovered": False, "offset": 4, "epoch": welcome["data"]["epoch"]}
    assert live["offset"] == 5


async def test_since_without_an_epoch_is_not_recovered(
    gateway: RunningGateway,
) -> None:
    """Recovery needs the epoch the client saw."""
    channel = f"execution:{new_id()}"
    await _publish_lines(gateway, channel, 2)
    path = "/ws/" + channel.replace(":", "/")
    async with ws_joined(gateway, path, since=1) as client:
        recovery = await client.next_of("recovery")
    assert recovery["data"]["recovered"] is False


async def test_history_that_no_longer_reaches_back_is_not_recovered(
    gateway: RunningGateway,
) -> None:
    """Past REALTIME_HISTORY_SIZE (50 here): recovered false, the state instead."""
    channel = f"execution:{new_id()}"
    await publish(gateway, channel, "execution_status", {"status": "running"})
    await _publish_lines(gateway, channel, 60)
    epoch = await _epoch_of(gateway, channel)
    path = "/ws/" + channel.replace(":", "/")
    async with ws_joined(gateway, path, since=2, epoch=epoch) as client:
        state = await client.next()
        recovery = await client.next_of("recovery")
    assert_published(state, "execution_status", channel, 1)
    assert recovery["data"] == {"recovered": False, "offset": 61, "epoch": epoch}


async def test_since_beyond_the_channels_offset_is_not_recovered(
    gateway: RunningGateway,
) -> None:
    """An offset the channel never reached cannot be recovered."""
    channel = f"execution:{new_id()}"
    await _publish_lines(gateway, channel, 2)
    epoch = await _epoch_of(gateway, channel)
    path = "/ws/" + channel.replace(":", "/")
    async with ws_joined(gateway, path, since=9, epoch=epoch) as client:
        recovery = await client.next_of("recovery")
    assert recovery["data"]["recovered"] is False


async def test_messages_published_while_recovering_arrive_once_in_order(
    gateway: RunningGateway,
) -> None:
    """No duplicate, no gap, and every missed message before any live one."""
    channel = f"execution:{new_id()}"
    await _publish_lines(gateway, channel, 20)
    epoch = await _epoch_of(gateway, channel)
    path = "/ws/" + channel.replace(":", "/")

    async def publish_live() -> None:
        for n in range(20):
            await publish(gateway, channel, "log_line", {"live": n})

    received: list[dict[str, Any]] = []
    live = asyncio.create_task(publish_live())
    async with ws_connect(gateway, path, since=0, epoch=epoch) as client:
        while not received or received[-1].get("offset") != 40:
            received.append(await client.next())
        await live
    assert received[0]["type"] == "connection"
    [recovery] = [m for m in received if m["type"] == "recovery"]
    published = [m for m in received if m["offset"] is not None]
    assert [m["offset"] for m in published] == list(range(1, 41))
    at = received.index(recovery)
    caught_up = recovery["data"]["offset"]
    assert all(m["offset"] <= caught_up for m in received[1:at])
    assert all(m["offset"] > caught_up for m in received[at + 1 :])


async def test_a_restarted_gateway_starts_a_new_epoch() -> None:
    """The memory backend restarted: new epoch, offsets from 1, recovered false."""
    channel = "execution:restarted"
    path = "/ws/execution/restarted"
    async with running_gateway() as first:
        await _publish_lines(first, channel, 3)
        old_epoch = await _epoch_of(first, channel)
    async with (
        running_gateway() as second,
        ws_connect(second, path, since=3, epoch=old_epoch) as client,
    ):
        welcome = await client.next_of("connection")
        recovery = await client.next_of("recovery")
        [result] = await publish(second, channel, "log_line")
        live = await client.next()
    assert welcome["data"]["epoch"] != old_epoch
    assert welcome["data"]["offset"] == 0
    assert recovery["data"]["recovered"] is False
    assert result["offset"] == 1
    assert live["epoch"] == welcome["data"]["epoch"]
