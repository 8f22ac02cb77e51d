"""get_status, request_logs and control_command answered through the ack."""

from __future__ import annotations

from tests.support.clients import new_id, publish, sio_connect
from tests.support.envelopes import assert_error, assert_gateway_says, assert_published
from tests.support.gateway import RunningGateway, running_gateway


async def test_get_status_answers_with_the_state_envelope(
    gateway: RunningGateway,
) -> None:
    """get_status {id}: the state message's envelope."""
    pipeline_id = new_id()
    channel = f"pipeline:{pipeline_id}"
    await publish(gateway, channel, "pipeline_status", {"status": "running"})
    async with sio_connect(gateway, "/pipeline") as client:
        answer = await client.call("get_status", {"id": pipeline_id})
    data = assert_published(answer, "pipeline_status", channel, 1)
    assert data == {"status": "running"}


async def test_get_status_without_state_answers_no_state(
    gateway: RunningGateway,
) -> None:
    """get_status of a channel with no state: the error envelope no_state."""
    async with sio_connect(gateway, "/execution") as client:
        answer = await client.call("get_status", {"id": new_id()})
    assert_error(answer, "no_state")


async def test_get_status_on_monitor_needs_no_id() -> None:
    """On /monitor, get_status reads the monitor channel."""
    # A gateway of its own: monitor's state would greet every later monitor.
    async with running_gateway() as own, sio_connect(own, "/monitor") as client:
        await publish(own, "monitor", "gateway_status", {"status": "fine"})
        answer = await client.call("get_status")
    assert answer["type"] == "gateway_status"
    assert answer["channel"] == "monitor"


async def test_request_logs_answers_with_execution_logs(
    gateway: RunningGateway,
) -> None:
    """request_logs {execution_id}: execution_logs with the kept lines, oldest first."""
    execution_id = new_id()
    channel = f"execution:{execution_id}"
    await publish(gateway, channel, "log_line", {"line": "a"})
    await publish(gateway, channel, "execution_update")
    await publish(gateway, channel, "log_line", {"line": "b"})
    async with sio_connect(gateway, "/monitor") as client:
        answer = await client.call("request_logs", {"execution_id": execution_id})
        limited = await client.call(
            "request_logs", {"execution_id": execution_id, "since": 0, "limit": 1}
        )
    data = assert_gateway_says(answer, "execution_logs")
    assert data["logs"] == [{"line": "a"}, {"line": "b"}]
    assert data["offset"] == 3
    assert limited["data"]["logs"] == [{"line": "a"}]
    assert limited["data"]["offset"] == 1


async def test_control_command_without_a_control_url_is_not_supported(
    gateway: RunningGateway,
) -> None:
    """control_command answers with the error envelope not_supported."""
    async with sio_connect(gateway, "/execution") as client:
        answer = await client.call(
            "control_command", {"command": "stop", "execution_id": "42"}
        )
    assert_error(answer, "not_supported")
