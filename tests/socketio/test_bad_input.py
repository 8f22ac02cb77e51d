"""Bad Socket.IO requests: a refusal with a code, and the server unharmed.

subscribe and unsubscribe refuse with ``{"ok": false, "error": CODE}``; the
requests answered with envelopes (get_status, request_logs) refuse with the
``error`` envelope plain WebSocket clients get.
"""

from __future__ import annotations

import pytest

from tests.support.clients import assert_sio_serves, new_id, sio_connect
from tests.support.envelopes import assert_error
from tests.support.gateway import RunningGateway


@pytest.mark.parametrize(
    "request_data",
    [
        {"id": "a.b"},
        {"id": "x" * 65},
        {"id": ""},
        {"id": "no/slash"},
        {"id": {"nested": 1}},
        {"id": True},
    ],
)
async def test_subscribe_with_a_bad_id_is_refused(
    gateway: RunningGateway, request_data: dict
) -> None:
    """An id outside the alphabet names no channel: ok false, invalid_channel."""
    async with sio_connect(gateway, "/execution") as client:
        ack = await client.call("subscribe", request_data)
    assert (ack["ok"], ack["error"]) == (False, "invalid_channel")
    assert isinstance(ack["detail"], str)
    await assert_sio_serves(gateway)


@pytest.mark.parametrize(
    "request_data",
    [
        None,
        {},
        [new_id()],
        True,
        {"id": "42", "since": -1},
        {"id": "42", "since": "soon"},
        {"id": "42", "events": "log_update"},
        {"id": "42", "epoch": 7},
    ],
)
async def test_subscribe_with_a_missing_or_wrong_field_is_invalid_message(
    gateway: RunningGateway, request_data: object
) -> None:
    """{"ok": false, "error": "invalid_message"} for malformed requests."""
    async with sio_connect(gateway, "/pipeline") as client:
        ack = await client.call("subscribe", request_data)
    assert (ack["ok"], ack["error"]) == (False, "invalid_message")
    await assert_sio_serves(gateway)


async def test_get_status_with_a_bad_or_missing_id_is_refused(
    gateway: RunningGateway,
) -> None:
    """get_status with a bad or no id: the error envelope, invalid_channel."""
    async with sio_connect(gateway, "/project") as client:
        bad = await client.call("get_status", {"id": "bad id"})
        missing = await client.call("get_status", {})
    assert_error(bad, "invalid_channel")
    assert_error(missing, "invalid_channel")
    await assert_sio_serves(gateway)


async def test_request_logs_without_an_execution_is_invalid_message(
    gateway: RunningGateway,
) -> None:
    """request_logs {}: the error envelope, invalid_message."""
    async with sio_connect(gateway, "/execution") as client:
        ack = await client.call("request_logs", {})
        limit = await client.call("request_logs", {"execution_id": "1", "limit": 0})
    assert_error(ack, "invalid_message")
    assert_error(limit, "invalid_message")
    await assert_sio_serves(gateway)


async def test_an_unknown_event_leaves_the_connection_working(
    gateway: RunningGateway,
) -> None:
    """An event the gateway does not know changes nothing."""
    async with sio_connect(gateway, "/execution") as client:
        await client.client.emit("dance", {"x": 1}, namespace="/execution")
        ack = await client.call("subscribe", {"id": new_id()})
    assert ack["ok"] is True


async def test_a_handshake_with_a_bad_id_reports_an_error_event(
    gateway: RunningGateway,
) -> None:
    """auth {"id": bad} on connect: an error event, and the connection lives."""
    async with sio_connect(gateway, "/execution", auth={"id": "a.b"}) as client:
        envelope = await client.next_of("error")
        ack = await client.call("subscribe", {"id": new_id()})
    assert envelope["data"]["code"] == "invalid_channel"
    assert ack["ok"] is True
    await assert_sio_serves(gateway)
