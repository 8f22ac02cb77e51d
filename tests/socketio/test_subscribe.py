"""Following ids on /pipeline, /execution and /project."""

from __future__ import annotations

import pytest

from tests.support.clients import SIOClient, new_id, publish, sio_connect
from tests.support.envelopes import assert_gateway_says, assert_published
from tests.support.gateway import RunningGateway


async def _epoch(gateway: RunningGateway, kind: str, channel_id: str) -> str:
    async with sio_connect(gateway, f"/{kind}") as client:
        ack = await client.call("subscribe", {"id": channel_id})
    epoch: str = ack["epoch"]
    return epoch


@pytest.mark.parametrize("kind", ["pipeline", "execution", "project"])
async def test_subscribe_is_acknowledged_with_the_channel(
    gateway: RunningGateway, kind: str
) -> None:
    """{"ok": true, channel, offset, epoch, recovered: null} without since."""
    channel_id = new_id()
    await publish(gateway, f"{kind}:{channel_id}", f"{kind}_update")
    async with sio_connect(gateway, f"/{kind}") as client:
        ack = await client.call("subscribe", {"id": channel_id})
    assert ack["ok"] is True
    assert ack["channel"] == f"{kind}:{channel_id}"
    assert ack["offset"] == 1
    assert isinstance(ack["epoch"], str)
    assert ack["epoch"]
    assert ack["recovered"] is None


async def test_a_subscriber_gets_live_messages_as_events(
    gateway: RunningGateway,
) -> None:
    """Each message arrives as an event named by its type, with the envelope."""
    execution_id = new_id()
    channel = f"execution:{execution_id}"
    async with sio_connect(gateway, "/execution") as client:
        ack = await client.call("subscribe", {"id": execution_id})
        await publish(gateway, channel, "log_line", {"line": "ok"}, message="text")
        envelope = await client.next_of("log_line")
    data = assert_published(envelope, "log_line", channel, 1)
    assert data == {"line": "ok"}
    assert envelope["message"] == "text"
    assert envelope["epoch"] == ack["epoch"]


async def test_a_new_subscriber_gets_the_state_then_live_only(
    gateway: RunningGateway,
) -> None:
    """The state right after joining, no older history, then live messages."""
    execution_id = new_id()
    channel = f"execution:{execution_id}"
    await publish(gateway, channel, "log_line")
    await publish(gateway, channel, "execution_status", {"status": "running"})
    await publish(gateway, channel, "log_line")
    async with sio_connect(gateway, "/execution") as client:
        await client.call("subscribe", {"id": execution_id})
        state = await client.next()
        await publish(gateway, channel, "log_line")
        live = await client.next()
    assert state[0] == "execution_status"
    assert_published(state[1], "execution_status", channel, 2)
    assert live[0] == "log_line"
    assert live[1]["offset"] == 4


async def test_subscribe_with_since_and_epoch_recovers_what_was_missed(
    gateway: RunningGateway,
) -> None:
    """recovered true, the missed messages in order, then live ones."""
    execution_id = new_id()
    channel = f"execution:{execution_id}"
    for n in range(4):
        await publish(gateway, channel, "log_line", {"n": n})
    epoch = await _epoch(gateway, "execution", execution_id)
    async with sio_connect(gateway, "/execution") as client:
        ack = await client.call(
            "subscribe", {"id": execution_id, "since": 1, "epoch": epoch}
        )
        missed = [await client.next_of("log_line") for _ in range(3)]
        await publish(gateway, channel, "log_line")
        live = await client.next_of("log_line")
    assert (ack["ok"], ack["recovered"], ack["offset"]) == (True, True, 4)
    assert [m["offset"] for m in missed] == [2, 3, 4]
    assert live["offset"] == 5


async def test_subscribe_with_a_wrong_epoch_gets_the_state_instead(
    gateway: RunningGateway,
) -> None:
    """recovered false and the state in place of the history."""
    execution_id = new_id()
    channel = f"execution:{execution_id}"
    await publish(gateway, channel, "execution_status", {"status": "success"})
    await publish(gateway, channel, "log_line")
    async with sio_connect(gateway, "/execution") as client:
        ack = await client.call(
            "subscribe", {"id": execution_id, "since": 0, "epoch": "old-epoch"}
        )
        state = await client.next_of("execution_status")
        await publish(gateway, channel, "log_line")
        live = await client.next_of("log_line")
    assert (ack["ok"], ack["recovered"]) == (True, False)
    assert state["offset"] == 1
    assert live["offset"] == 3


async def test_subscribe_with_events_narrows_what_arrives(
    gateway: RunningGateway,
) -> None:
    """events in subscribe: only matching types of that channel arrive."""
    execution_id = new_id()
    channel = f"execution:{execution_id}"
    async with sio_connect(gateway, "/execution") as client:
        await client.call("subscribe", {"id": execution_id, "events": ["log_update"]})
        await publish(gateway, channel, "execution_update")
        await publish(gateway, channel, "log_line")
        name, envelope = await client.next()
    assert (name, envelope["offset"]) == ("log_line", 2)


async def test_one_connection_follows_many_ids(gateway: RunningGateway) -> None:
    """Subscribing to several ids delivers all of them on one connection."""
    first, second = new_id(), new_id()
    async with sio_connect(gateway, "/pipeline") as client:
        await client.call("subscribe", {"id": first})
        await client.call("subscribe", {"id": second})
        await publish(gateway, f"pipeline:{first}", "pipeline_update")
        await publish(gateway, f"pipeline:{second}", "pipeline_update")
        channels = [(await client.next())[1]["channel"] for _ in range(2)]
    assert channels == [f"pipeline:{first}", f"pipeline:{second}"]


async def test_unsubscribe_leaves_the_id(gateway: RunningGateway) -> None:
    """After unsubscribe the id's messages stop; others go on."""
    leaving, staying = new_id(), new_id()
    async with sio_connect(gateway, "/project") as client:
        await client.call("subscribe", {"id": leaving})
        await client.call("subscribe", {"id": staying})
        ack = await client.call("unsubscribe", {"id": leaving})
        await publish(gateway, f"project:{leaving}", "push")
        await publish(gateway, f"project:{staying}", "push")
        _, envelope = await client.next()
    assert ack["ok"] is True
    assert ack["channel"] == f"project:{leaving}"
    assert envelope["channel"] == f"project:{staying}"


async def test_a_numeric_id_is_a_string_in_answers(gateway: RunningGateway) -> None:
    """subscribe {"id": 42} follows execution:42; ids come back as strings."""
    number = int(new_id(), 16) % 10**9
    async with sio_connect(gateway, "/execution") as client:
        ack = await client.call("subscribe", {"id": number})
        await publish(gateway, f"execution:{number}", "log_line")
        envelope = await client.next_of("log_line")
    assert ack["channel"] == f"execution:{number}"
    assert envelope["channel"] == f"execution:{number}"


async def test_an_id_in_the_handshake_auth_subscribes_at_once(
    gateway: RunningGateway,
) -> None:
    """auth {"id"} on connect: subscribed (with the ack's fields), the state, live."""
    execution_id = new_id()
    channel = f"execution:{execution_id}"
    await publish(gateway, channel, "execution_status", {"status": "queued"})
    async with sio_connect(gateway, "/execution", auth={"id": execution_id}) as client:
        events = [await client.next() for _ in range(2)]
        await publish(gateway, channel, "log_line")
        live = await client.next_of("log_line")
    by_name = dict(events)
    subscribed = assert_gateway_says(by_name["subscribed"], "subscribed")
    assert (subscribed["ok"], subscribed["channel"]) == (True, channel)
    assert by_name["execution_status"]["offset"] == 1
    assert live["offset"] == 2


async def test_handshake_auth_with_since_and_epoch_recovers(
    gateway: RunningGateway,
) -> None:
    """auth {"id", "since", "epoch"} recovers what was missed on connect."""
    execution_id = new_id()
    channel = f"execution:{execution_id}"
    for _ in range(3):
        await publish(gateway, channel, "log_line")
    epoch = await _epoch(gateway, "execution", execution_id)
    client = SIOClient("/execution")
    await client.connect(
        gateway,
        auth={"id": execution_id, "since": 1, "epoch": epoch},
        transports=["websocket"],
    )
    try:
        events = [await client.next() for _ in range(3)]
    finally:
        await client.disconnect()
    names = [name for name, _ in events]
    assert names.count("log_line") == 2
    assert [e["offset"] for n, e in events if n == "log_line"] == [2, 3]
    subscribed = dict(events)["subscribed"]["data"]
    assert subscribed["recovered"] is True
