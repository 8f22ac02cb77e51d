"""A plain WebSocket client's requests: ping, get_status, request_logs, control."""

from __future__ import annotations

from tests.support.clients import new_id, publish, ws_joined
from tests.support.envelopes import assert_error, assert_gateway_says, assert_published
from tests.support.gateway import RunningGateway


async def test_ping_gets_pong(gateway: RunningGateway) -> None:
    """ping is answered by pong, a message of the gateway's own."""
    async with ws_joined(gateway, f"/ws/execution/{new_id()}") as client:
        answer = await client.ask({"type": "ping"})
    assert_gateway_says(answer, "pong")


async def test_get_status_sends_the_state_again(gateway: RunningGateway) -> None:
    """get_status answers with the channel's state message."""
    channel = f"execution:{new_id()}"
    await publish(gateway, channel, "execution_status", {"status": "running"})
    await publish(gateway, channel, "log_line")
    async with ws_joined(gateway, "/ws/" + channel.replace(":", "/")) as client:
        await client.next()
        answer = await client.ask({"type": "get_status"})
    data = assert_published(answer, "execution_status", channel, 1)
    assert data == {"status": "running"}


async def test_get_status_without_state_is_no_state(gateway: RunningGateway) -> None:
    """A channel with no state answers get_status with error no_state."""
    async with ws_joined(gateway, f"/ws/pipeline/{new_id()}") as client:
        answer = await client.ask({"type": "get_status"})
    assert_error(answer, "no_state")


async def test_get_status_can_name_another_channel(gateway: RunningGateway) -> None:
    """get_status {channel} answers with that channel's state."""
    pipeline = f"pipeline:{new_id()}"
    await publish(gateway, pipeline, "pipeline_status", {"status": "success"})
    async with ws_joined(gateway, "/ws/monitor") as client:
        await client.next_of("system_status")
        answer = await client.ask({"type": "get_status", "channel": pipeline})
    assert_published(answer, "pipeline_status", pipeline, 1)


async def test_request_logs_lists_the_kept_log_lines_oldest_first(
    gateway: RunningGateway,
) -> None:
    """execution_logs: the data of every kept *log* message, oldest first."""
    execution_id = new_id()
    channel = f"execution:{execution_id}"
    await publish(gateway, channel, "log_line", {"line": "one"})
    await publish(gateway, channel, "execution_status", {"status": "running"})
    await publish(gateway, channel, "build_log", {"line": "two"})
    await publish(gateway, channel, "log_line", {"line": "three"})
    async with ws_joined(gateway, "/ws/monitor") as client:
        await client.next_of("system_status")
        answer = await client.ask(
            {"type": "request_logs", "execution_id": execution_id}
        )
    data = assert_gateway_says(answer, "execution_logs")
    assert answer["channel"] == channel
    assert data["logs"] == [{"line": "one"}, {"line": "two"}, {"line": "three"}]
    assert data["offset"] == 4


async def test_request_logs_gives_only_lines_after_since(
    gateway: RunningGateway,
) -> None:
    """since is an offset: only lines above it are listed."""
    execution_id = new_id()
    channel = f"execution:{execution_id}"
    for n in range(1, 6):
        await publish(gateway, channel, "log_line", {"n": n})
    async with ws_joined(gateway, f"/ws/execution/{execution_id}") as client:
        answer = await client.ask(
            {"type": "request_logs", "execution_id": execution_id, "since": 3}
        )
    assert answer["data"]["logs"] == [{"n": 4}, {"n": 5}]
    assert answer["data"]["offset"] == 5


async def test_request_logs_gives_at_most_limit_oldest_first(
    gateway: RunningGateway,
) -> None:
    """limit keeps the oldest lines; data.offset lets the client ask on from there."""
    execution_id = new_id()
    channel = f"execution:{execution_id}"
    for n in range(1, 8):
        await publish(gateway, channel, "log_line", {"n": n})
    async with ws_joined(gateway, f"/ws/execution/{execution_id}") as client:
        first = await client.ask(
            {"type": "request_logs", "executionId": execution_id, "limit": 3}
        )
        offset = first["data"]["offset"]
        second = await client.ask(
            {"type": "request_logs", "execution_id": execution_id, "since": offset}
        )
    assert [line["n"] for line in first["data"]["logs"]] == [1, 2, 3]
    assert offset == 3
    assert [line["n"] for line in second["data"]["logs"]] == [4, 5, 6, 7]
    assert second["data"]["offset"] == 7


async def test_request_logs_of_an_execution_without_logs_is_empty(
    gateway: RunningGateway,
) -> None:
    """No lines kept: an empty list, and offset stays at since."""
    execution_id = new_id()
    async with ws_joined(gateway, f"/ws/execution/{execution_id}") as client:
        answer = await client.ask(
            {"type": "request_logs", "execution_id": execution_id}
        )
    assert answer["type"] == "execution_logs"
    assert answer["data"]["logs"] == []
    assert answer["data"]["offset"] == 0


async def test_control_command_without_a_control_url_is_not_supported(
    gateway: RunningGateway,
) -> None:
    """With no REALTIME_CONTROL_URL, control_command gets error not_supported."""
    async with ws_joined(gateway, f"/ws/execution/{new_id()}") as client:
        answer = await client.ask(
            {"type": "control_command", "command": "stop", "execution_id": "42"}
        )
        pong = await client.ask({"type": "ping"})
    assert_error(answer, "not_supported")
    assert pong["type"] == "pong"
