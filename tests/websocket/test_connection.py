"""Opening a plain WebSocket: the paths, the greeting, the monitor's reports."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.clients import new_id, publish, ws_connect, ws_joined
from tests.support.envelopes import assert_gateway_says, assert_published
from tests.support.gateway import RunningGateway, running_gateway

ID_PATHS = [
    ("pipeline", "pipeline_id"),
    ("execution", "execution_id"),
    ("project", "project_id"),
]


@pytest.mark.parametrize(("kind", "id_field"), ID_PATHS)
async def test_a_path_with_an_id_is_greeted_with_connection(
    gateway: RunningGateway, kind: str, id_field: str
) -> None:
    """connection says healthy and names the channel, its id, epoch and offset."""
    channel_id = new_id()
    async with ws_connect(gateway, f"/ws/{kind}/{channel_id}") as client:
        data = assert_gateway_says(await client.next(), "connection")
    assert data["status"] == "healthy"
    assert data["channel"] == f"{kind}:{channel_id}"
    assert data[id_field] == channel_id
    assert data["authenticated"] is False
    assert data["user_id"] is None
    assert isinstance(data["epoch"], str)
    assert data["epoch"]
    assert data["offset"] == 0


@pytest.mark.parametrize("kind", ["monitor", "system"])
async def test_a_path_without_an_id_is_greeted_with_connection(
    gateway: RunningGateway, kind: str
) -> None:
    """/ws/monitor and /ws/system greet with their channel."""
    async with ws_connect(gateway, f"/ws/{kind}") as client:
        data = assert_gateway_says(await client.next(), "connection")
    assert data["status"] == "healthy"
    assert data["channel"] == kind


async def test_the_greeting_gives_the_channels_current_offset(
    gateway: RunningGateway,
) -> None:
    """connection's offset is the channel's offset, its epoch the messages' one."""
    channel = f"execution:{new_id()}"
    for _ in range(3):
        await publish(gateway, channel, "log_line")
    async with ws_connect(gateway, "/ws/" + channel.replace(":", "/")) as client:
        data = (await client.next_of("connection"))["data"]
        await publish(gateway, channel, "log_line")
        live = await client.next()
    assert data["offset"] == 3
    assert live["epoch"] == data["epoch"]


async def test_a_monitor_gets_system_status_on_connect(
    gateway: RunningGateway,
) -> None:
    """/ws/monitor: connection, then the gateway's own system_status."""
    async with ws_joined(gateway, "/ws/monitor") as client:
        data = assert_gateway_says(await client.next(), "system_status")
    assert data["status"] == "healthy"
    assert data["backend"] == "memory"


async def test_a_monitor_gets_anything_published_to_it(
    gateway: RunningGateway,
) -> None:
    """monitor carries whatever is published to it."""
    async with ws_joined(gateway, "/ws/monitor") as client:
        await client.next_of("system_status")
        [result] = await publish(gateway, "monitor", "deployment_started", {"n": 1})
        data = assert_published(
            await client.next(), "deployment_started", "monitor", result["offset"]
        )
    assert data == {"n": 1}


@pytest.fixture(scope="module")
async def reporting_gateway() -> AsyncIterator[RunningGateway]:
    """A gateway that reports system_metrics every 0.2 seconds."""
    async with running_gateway(metrics_interval=0.2) as served:
        yield served


async def test_a_monitor_gets_system_metrics_every_interval(
    reporting_gateway: RunningGateway,
) -> None:
    """system_metrics arrives on monitor, again and again, as the gateway's own."""
    async with ws_joined(reporting_gateway, "/ws/monitor") as client:
        await client.next_of("system_status")
        first = assert_gateway_says(await client.next(), "system_metrics")
        assert_gateway_says(await client.next(), "system_metrics")
    assert first["connections"]["websocket"] == 1


async def test_only_monitor_gets_system_metrics(
    reporting_gateway: RunningGateway,
) -> None:
    """A connection to another channel is not sent system_metrics."""
    async with (
        ws_joined(reporting_gateway, f"/ws/execution/{new_id()}") as other,
        ws_joined(reporting_gateway, "/ws/monitor") as monitor,
    ):
        await monitor.next_of("system_status")
        await monitor.next_of("system_metrics")
        await monitor.next_of("system_metrics")
        await other.send({"type": "ping"})
        await other.next_of("pong")
