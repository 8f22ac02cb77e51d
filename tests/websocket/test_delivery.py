"""What a plain WebSocket client receives: published messages, state, system."""

from __future__ import annotations

from tests.support.clients import new_id, publish, ws_joined
from tests.support.envelopes import assert_gateway_says, assert_published
from tests.support.gateway import RunningGateway


def _path(channel: str) -> str:
    return "/ws/" + channel.replace(":", "/")


async def test_a_published_message_arrives_in_the_envelope(
    gateway: RunningGateway,
) -> None:
    """type, channel, offset, epoch, timestamp, service, data and message."""
    channel = f"execution:{new_id()}"
    async with ws_joined(gateway, _path(channel)) as client:
        await publish(
            gateway, channel, "execution_update", {"progress": 50}, message="half"
        )
        message = await client.next()
    data = assert_published(message, "execution_update", channel, 1)
    assert data == {"progress": 50}
    assert message["message"] == "half"


async def test_offsets_rise_by_one_per_message(gateway: RunningGateway) -> None:
    """Each message of a channel is one above the last, in publish order."""
    channel = f"pipeline:{new_id()}"
    async with ws_joined(gateway, _path(channel)) as client:
        for n in range(4):
            await publish(gateway, channel, "pipeline_update", {"n": n})
        received = [await client.next() for _ in range(4)]
    assert [m["offset"] for m in received] == [1, 2, 3, 4]
    assert [m["data"]["n"] for m in received] == [0, 1, 2, 3]


async def test_a_new_subscriber_gets_the_state_right_after_joining(
    gateway: RunningGateway,
) -> None:
    """The latest *_status message comes right after connection."""
    channel = f"execution:{new_id()}"
    await publish(gateway, channel, "execution_status", {"status": "running"})
    await publish(gateway, channel, "log_line", {"line": "building"})
    async with ws_joined(gateway, _path(channel)) as client:
        state = await client.next()
    assert_published(state, "execution_status", channel, 1)
    assert state["data"] == {"status": "running"}


async def test_only_the_latest_state_is_sent(gateway: RunningGateway) -> None:
    """A later state replaces the earlier one."""
    channel = f"execution:{new_id()}"
    await publish(gateway, channel, "execution_status", {"status": "running"})
    await publish(gateway, channel, "execution_status", {"status": "success"})
    async with ws_joined(gateway, _path(channel)) as client:
        state = await client.next()
        await publish(gateway, channel, "log_line")
        live = await client.next()
    assert state["data"] == {"status": "success"}
    assert live["offset"] == 3


async def test_state_true_makes_any_type_the_state(gateway: RunningGateway) -> None:
    """ "state": true makes a message of any type the channel's state."""
    channel = f"project:{new_id()}"
    await publish(gateway, channel, "branch_pushed", {"ref": "main"}, state=True)
    async with ws_joined(gateway, _path(channel)) as client:
        assert_published(await client.next(), "branch_pushed", channel, 1)


async def test_state_false_keeps_a_status_type_out_of_the_state(
    gateway: RunningGateway,
) -> None:
    """ "state": false on a *_status type: a new subscriber gets no state."""
    channel = f"execution:{new_id()}"
    await publish(gateway, channel, "execution_status", state=False)
    async with ws_joined(gateway, _path(channel)) as client:
        await publish(gateway, channel, "log_line")
        assert_published(await client.next(), "log_line", channel, 2)


async def test_a_new_subscriber_never_gets_older_history(
    gateway: RunningGateway,
) -> None:
    """Without recovery: no earlier messages, only live ones."""
    channel = f"execution:{new_id()}"
    for _ in range(3):
        await publish(gateway, channel, "log_line")
    async with ws_joined(gateway, _path(channel)) as client:
        await publish(gateway, channel, "log_line", {"line": "live"})
        live = await client.next()
    assert_published(live, "log_line", channel, 4)


async def test_a_connection_gets_nothing_of_other_channels(
    gateway: RunningGateway,
) -> None:
    """A message for another execution does not arrive."""
    mine, other = f"execution:{new_id()}", f"execution:{new_id()}"
    async with ws_joined(gateway, _path(mine)) as client:
        await publish(gateway, other, "log_line")
        await publish(gateway, mine, "log_line")
        assert (await client.next())["channel"] == mine


async def test_system_reaches_every_connection_whatever_it_follows(
    gateway: RunningGateway,
) -> None:
    """A system notice reaches connections on every path."""
    async with (
        ws_joined(gateway, "/ws/system") as system,
        ws_joined(gateway, f"/ws/execution/{new_id()}") as execution,
        ws_joined(gateway, f"/ws/project/{new_id()}") as project,
        ws_joined(gateway, "/ws/monitor") as monitor,
    ):
        await monitor.next_of("system_status")
        [result] = await publish(gateway, "system", "maintenance", {"in": "5m"})
        for client in (system, execution, project, monitor):
            message = await client.next()
            assert_published(message, "maintenance", "system", result["offset"])


async def test_subscribe_narrows_to_the_listed_types(gateway: RunningGateway) -> None:
    """subscribe with events: only those types arrive; subscribed lists them."""
    channel = f"execution:{new_id()}"
    async with ws_joined(gateway, _path(channel)) as client:
        answer = await client.ask({"type": "subscribe", "events": ["step_started"]})
        await publish(gateway, channel, "log_line")
        await publish(gateway, channel, "step_started")
        received = await client.next()
    data = assert_gateway_says(answer, "subscribed")
    assert data["events"] == ["step_started"]
    assert_published(received, "step_started", channel, 2)


async def test_status_update_stands_for_status_update_and_progress(
    gateway: RunningGateway,
) -> None:
    """status_update passes *status*, *update* and *progress* types, not logs."""
    channel = f"execution:{new_id()}"
    async with ws_joined(gateway, _path(channel)) as client:
        await client.ask({"type": "subscribe", "events": ["status_update"]})
        for kind in ("log_line", "execution_status", "step_update", "progress"):
            await publish(gateway, channel, kind)
        received = [(await client.next())["type"] for _ in range(3)]
    assert received == ["execution_status", "step_update", "progress"]


async def test_log_update_stands_for_every_log_type(gateway: RunningGateway) -> None:
    """log_update passes every type containing log."""
    channel = f"execution:{new_id()}"
    async with ws_joined(gateway, _path(channel)) as client:
        await client.ask({"type": "subscribe", "events": ["log_update"]})
        for kind in ("execution_status", "log_line", "step_update", "build_logs"):
            await publish(gateway, channel, kind)
        received = [(await client.next())["type"] for _ in range(2)]
    assert received == ["log_line", "build_logs"]


async def test_an_empty_event_list_means_everything_again(
    gateway: RunningGateway,
) -> None:
    """subscribe with [] (or no list) lifts the filter."""
    channel = f"execution:{new_id()}"
    async with ws_joined(gateway, _path(channel)) as client:
        await client.ask({"type": "subscribe", "events": ["log_update"]})
        answer = await client.ask({"type": "subscribe", "events": []})
        await publish(gateway, channel, "execution_update")
        received = await client.next()
        absent = await client.ask({"type": "subscribe"})
    assert answer["data"]["events"] == []
    assert absent["data"]["events"] == []
    assert received["type"] == "execution_update"


async def test_the_filter_applies_to_system_messages(gateway: RunningGateway) -> None:
    """A narrowed connection does not get system notices outside its events."""
    channel = f"execution:{new_id()}"
    async with ws_joined(gateway, _path(channel)) as client:
        await client.ask({"type": "subscribe", "events": ["log_update"]})
        await publish(gateway, "system", "maintenance")
        await publish(gateway, "system", "system_log")
        received = await client.next()
    assert (received["type"], received["channel"]) == ("system_log", "system")


async def test_subscribe_execution_adds_an_execution(gateway: RunningGateway) -> None:
    """subscribe_execution {executionId}: subscribed, its state, then its messages."""
    execution_id = new_id()
    channel = f"execution:{execution_id}"
    await publish(gateway, channel, "execution_status", {"status": "queued"})
    async with ws_joined(gateway, "/ws/monitor") as client:
        await client.next_of("system_status")
        answer = await client.ask(
            {"type": "subscribe_execution", "executionId": execution_id}
        )
        state = await client.next()
        await publish(gateway, channel, "log_line")
        live = await client.next()
    assert assert_gateway_says(answer, "subscribed")["channel"] == channel
    assert_published(state, "execution_status", channel, 1)
    assert_published(live, "log_line", channel, 2)


async def test_a_numeric_execution_id_names_the_same_execution(
    gateway: RunningGateway,
) -> None:
    """executionId 42 (a number) follows execution:42."""
    number = int(new_id(), 16) % 10**9
    channel = f"execution:{number}"
    async with ws_joined(gateway, "/ws/system") as client:
        answer = await client.ask(
            {"type": "subscribe_execution", "executionId": number}
        )
        await publish(gateway, channel, "log_line")
        live = await client.next()
    assert answer["data"]["channel"] == channel
    assert live["channel"] == channel


async def test_unsubscribe_execution_drops_it(gateway: RunningGateway) -> None:
    """After unsubscribe_execution its messages stop."""
    execution_id, here = new_id(), f"pipeline:{new_id()}"
    async with ws_joined(gateway, _path(here)) as client:
        await client.ask({"type": "subscribe_execution", "executionId": execution_id})
        answer = await client.ask(
            {"type": "unsubscribe_execution", "executionId": execution_id}
        )
        await publish(gateway, f"execution:{execution_id}", "log_line")
        await publish(gateway, here, "pipeline_update")
        received = await client.next()
    data = assert_gateway_says(answer, "unsubscribed")
    assert data["channel"] == f"execution:{execution_id}"
    assert received["channel"] == here


async def test_subscribe_channel_adds_any_readable_channel(
    gateway: RunningGateway,
) -> None:
    """subscribe_channel {channel}: subscribed, then that channel's messages."""
    project = f"project:{new_id()}"
    async with ws_joined(gateway, f"/ws/execution/{new_id()}") as client:
        answer = await client.ask({"type": "subscribe_channel", "channel": project})
        await publish(gateway, project, "merge_request_opened", {"iid": "3"})
        live = await client.next()
    assert assert_gateway_says(answer, "subscribed")["channel"] == project
    assert_published(live, "merge_request_opened", project, 1)


async def test_subscribe_channel_sends_the_new_channels_state(
    gateway: RunningGateway,
) -> None:
    """A newly followed channel's state follows subscribed."""
    pipeline = f"pipeline:{new_id()}"
    await publish(gateway, pipeline, "pipeline_status", {"status": "failed"})
    async with ws_joined(gateway, "/ws/monitor") as client:
        await client.next_of("system_status")
        await client.ask({"type": "subscribe_channel", "channel": pipeline})
        state = await client.next()
    assert_published(state, "pipeline_status", pipeline, 1)


async def test_subscribing_twice_delivers_once(gateway: RunningGateway) -> None:
    """Following a channel already followed does not double its messages."""
    project = f"project:{new_id()}"
    async with ws_joined(gateway, _path(project)) as client:
        await client.ask({"type": "subscribe_channel", "channel": project})
        await publish(gateway, project, "push")
        await publish(gateway, project, "push")
        received = [await client.next() for _ in range(2)]
    assert [m["offset"] for m in received] == [1, 2]


async def test_unsubscribe_channel_drops_it(gateway: RunningGateway) -> None:
    """unsubscribe_channel answers unsubscribed and the messages stop."""
    project, here = f"project:{new_id()}", f"execution:{new_id()}"
    async with ws_joined(gateway, _path(here)) as client:
        await client.ask({"type": "subscribe_channel", "channel": project})
        answer = await client.ask({"type": "unsubscribe_channel", "channel": project})
        await publish(gateway, project, "push")
        await publish(gateway, here, "log_line")
        received = await client.next()
    assert assert_gateway_says(answer, "unsubscribed")["channel"] == project
    assert received["channel"] == here


async def test_one_connection_follows_several_channels(
    gateway: RunningGateway,
) -> None:
    """Messages of every followed channel arrive on one connection."""
    first, second = f"execution:{new_id()}", f"execution:{new_id()}"
    async with ws_joined(gateway, "/ws/system") as client:
        for channel in (first, second):
            await client.ask(
                {"type": "subscribe_execution", "executionId": channel[10:]}
            )
        await publish(gateway, first, "log_line")
        await publish(gateway, second, "log_line")
        received = [(await client.next())["channel"] for _ in range(2)]
    assert received == [first, second]


async def test_a_channel_of_another_user_is_forbidden(gateway: RunningGateway) -> None:
    """An anonymous connection may not follow user:{id}."""
    async with ws_joined(gateway, "/ws/system") as client:
        answer = await client.ask({"type": "subscribe_channel", "channel": "user:7"})
        assert answer["type"] == "error"
        assert answer["data"]["code"] == "forbidden"
        assert (await client.ask({"type": "ping"}))["type"] == "pong"
