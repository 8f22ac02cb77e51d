"""Socket.IO namespaces: what joins on connect, and how messages arrive."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.clients import SIOClient, new_id, publish, sio_connect
from tests.support.envelopes import assert_gateway_says, assert_published
from tests.support.gateway import RunningGateway, running_gateway


async def test_monitor_joins_on_connect_and_gets_system_status(
    gateway: RunningGateway,
) -> None:
    """/monitor: system_status arrives at once, as an event named by its type."""
    async with sio_connect(gateway, "/monitor") as client:
        data = assert_gateway_says(
            await client.next_of("system_status"), "system_status"
        )
    assert data["status"] == "healthy"
    assert data["connections"]["socketio"] >= 1


async def test_monitor_gets_what_is_published_to_it(gateway: RunningGateway) -> None:
    """A monitor publication arrives as an event named by its type."""
    async with sio_connect(gateway, "/monitor") as client:
        await client.next_of("system_status")
        [result] = await publish(gateway, "monitor", "runner_online", {"runner": "r1"})
        envelope = await client.next_of("runner_online")
    data = assert_published(envelope, "runner_online", "monitor", result["offset"])
    assert data == {"runner": "r1"}


async def test_system_joins_on_connect(gateway: RunningGateway) -> None:
    """/system: system publications arrive without asking."""
    async with sio_connect(gateway, "/system") as client:
        [result] = await publish(gateway, "system", "maintenance", {"at": "22:00"})
        envelope = await client.next_of("maintenance")
    assert_published(envelope, "maintenance", "system", result["offset"])


@pytest.mark.parametrize(
    "namespace", ["/pipeline", "/execution", "/project", "/monitor"]
)
async def test_system_reaches_every_namespace(
    gateway: RunningGateway, namespace: str
) -> None:
    """A system notice reaches a connection on any namespace, subscribed or not."""
    async with sio_connect(gateway, namespace) as client:
        if namespace == "/monitor":
            await client.next_of("system_status")
        else:
            await client.call("subscribe", {"id": new_id()})
        await publish(gateway, "system", "maintenance")
        envelope = await client.next_of("maintenance")
    assert envelope["channel"] == "system"


async def test_a_connection_over_polling_then_upgrade_gets_messages(
    gateway: RunningGateway,
) -> None:
    """The default transports (polling, then the upgrade) deliver too."""
    execution_id = new_id()
    client = SIOClient("/execution")
    await client.connect(gateway)
    try:
        ack = await client.call("subscribe", {"id": execution_id})
        await publish(gateway, f"execution:{execution_id}", "log_line", {"n": 1})
        envelope = await client.next_of("log_line")
        await publish(gateway, f"execution:{execution_id}", "log_line", {"n": 2})
        second = await client.next_of("log_line")
    finally:
        await client.disconnect()
    assert ack["ok"] is True
    assert (envelope["offset"], second["offset"]) == (1, 2)


@pytest.fixture(scope="module")
async def reporting_gateway() -> AsyncIterator[RunningGateway]:
    """A gateway that reports system_metrics every 0.2 seconds."""
    async with running_gateway(metrics_interval=0.2) as served:
        yield served


async def test_monitor_gets_system_metrics_every_interval(
    reporting_gateway: RunningGateway,
) -> None:
    """system_metrics arrives on /monitor again and again."""
    async with sio_connect(reporting_gateway, "/monitor") as client:
        await client.next_of("system_status")
        first = await client.next_of("system_metrics")
        await client.next_of("system_metrics")
    data = assert_gateway_says(first, "system_metrics")
    assert data["connections"]["socketio"] == 1
