"""Bad frames and bad paths: each refused with its code, the server unharmed."""

from __future__ import annotations

import pytest

from tests.support.clients import assert_ws_serves, new_id, ws_connect, ws_joined
from tests.support.envelopes import assert_error
from tests.support.gateway import RunningGateway

NOT_JSON = ["hello", "{", "{'type': 'ping'}", '{"type": "ping"', " "]
NOT_OBJECTS = ["[]", '["ping"]', '"ping"', "42", "null", "true"]
WRONG_FIELDS = [
    {},
    {"type": 7},
    {"type": None},
    {"type": "subscribe", "events": "status_update"},
    {"type": "subscribe", "events": [1, 2]},
    {"type": "subscribe_execution"},
    {"type": "subscribe_execution", "executionId": "no/slashes"},
    {"type": "subscribe_execution", "executionId": {"id": 1}},
    {"type": "subscribe_channel", "channel": 42},
    {"type": "unsubscribe_channel"},
    {"type": "get_status", "channel": ["monitor"]},
    {"type": "auth"},
    {"type": "control_command", "command": "stop"},
    {"type": "request_logs"},
    {"type": "request_logs", "execution_id": "42", "limit": 0},
    {"type": "request_logs", "execution_id": "42", "since": -5},
]


@pytest.mark.parametrize("frame", NOT_JSON)
async def test_a_frame_that_is_not_json_gets_invalid_json(
    gateway: RunningGateway, frame: str
) -> None:
    """Not JSON: error invalid_json, and the connection stays open."""
    async with ws_joined(gateway, f"/ws/execution/{new_id()}") as client:
        assert_error(await client.ask(frame), "invalid_json")
        assert (await client.ask({"type": "ping"}))["type"] == "pong"
    await assert_ws_serves(gateway)


async def test_a_binary_frame_that_is_not_json_gets_invalid_json(
    gateway: RunningGateway,
) -> None:
    """Binary garbage is invalid_json too."""
    async with ws_joined(gateway, f"/ws/execution/{new_id()}") as client:
        assert_error(await client.ask(b"\x00\xff\x10"), "invalid_json")
        assert (await client.ask({"type": "ping"}))["type"] == "pong"
    await assert_ws_serves(gateway)


@pytest.mark.parametrize("frame", NOT_OBJECTS)
async def test_json_that_is_not_an_object_gets_invalid_json(
    gateway: RunningGateway, frame: str
) -> None:
    """A JSON array, string, number or null: error invalid_json; still open."""
    async with ws_joined(gateway, f"/ws/execution/{new_id()}") as client:
        assert_error(await client.ask(frame), "invalid_json")
        assert (await client.ask({"type": "ping"}))["type"] == "pong"
    await assert_ws_serves(gateway)


@pytest.mark.parametrize("kind", ["dance", "PING", "pong", "subscribed", ""])
async def test_an_unknown_type_gets_unknown_type(
    gateway: RunningGateway, kind: str
) -> None:
    """A type the gateway does not take: error unknown_type; still open."""
    async with ws_joined(gateway, f"/ws/execution/{new_id()}") as client:
        assert_error(await client.ask({"type": kind}), "unknown_type")
        assert (await client.ask({"type": "ping"}))["type"] == "pong"
    await assert_ws_serves(gateway)


@pytest.mark.parametrize("message", WRONG_FIELDS)
async def test_a_missing_or_wrong_field_gets_invalid_message(
    gateway: RunningGateway, message: dict
) -> None:
    """A missing or mistyped field: error invalid_message; still open."""
    async with ws_joined(gateway, f"/ws/execution/{new_id()}") as client:
        assert_error(await client.ask(message), "invalid_message")
        assert (await client.ask({"type": "ping"}))["type"] == "pong"
    await assert_ws_serves(gateway)


@pytest.mark.parametrize(
    "message",
    [
        {"type": "subscribe_channel", "channel": "build:1"},
        {"type": "subscribe_channel", "channel": "execution:a.b"},
        {"type": "unsubscribe_channel", "channel": "execution"},
        {"type": "get_status", "channel": "nowhere"},
    ],
)
async def test_a_bad_channel_name_gets_invalid_channel(
    gateway: RunningGateway, message: dict
) -> None:
    """subscribe_channel or get_status naming no channel: invalid_channel."""
    async with ws_joined(gateway, f"/ws/execution/{new_id()}") as client:
        assert_error(await client.ask(message), "invalid_channel")
        assert (await client.ask({"type": "ping"}))["type"] == "pong"
    await assert_ws_serves(gateway)


async def test_a_malformed_since_is_an_error_and_no_recovery(
    gateway: RunningGateway,
) -> None:
    """?since=abc: the greeting, then error invalid_message; no recovery."""
    async with ws_connect(
        gateway, f"/ws/execution/{new_id()}", since="abc", epoch="x"
    ) as client:
        first, second = await client.next(), await client.next()
        pong = await client.ask({"type": "ping"})
    assert first["type"] == "connection"
    assert_error(second, "invalid_message")
    assert pong["type"] == "pong"


@pytest.mark.parametrize("frame", ["x" * 5000, b"x" * 5000])
async def test_a_frame_over_the_limit_closes_with_1009(
    gateway: RunningGateway, frame: str | bytes
) -> None:
    """Past REALTIME_MAX_MESSAGE_BYTES (4096 here) the connection closes 1009."""
    async with ws_joined(gateway, f"/ws/execution/{new_id()}") as client:
        await client.send(frame)
        closed = await client.closed()
    assert closed.code == 1009
    await assert_ws_serves(gateway)


async def test_a_frame_just_under_the_limit_is_read(gateway: RunningGateway) -> None:
    """A frame within the limit is parsed as usual."""
    padding = "x" * 3900
    async with ws_joined(gateway, f"/ws/execution/{new_id()}") as client:
        answer = await client.ask(f'{{"type": "ping", "padding": "{padding}"}}')
    assert answer["type"] == "pong"


@pytest.mark.parametrize(
    ("kind", "bad_id"),
    [
        ("execution", "x" * 65),
        ("execution", "a.b"),
        ("pipeline", "bad%21id"),
        ("project", "%C3%BCber"),
        ("project", "a%20b"),
        ("execution", ""),
        ("pipeline", "a/b"),
    ],
)
async def test_a_path_with_an_invalid_id_is_closed_with_4400(
    gateway: RunningGateway, kind: str, bad_id: str
) -> None:
    """error invalid_channel, then close 4400."""
    async with ws_connect(gateway, f"/ws/{kind}/{bad_id}") as client:
        assert_error(await client.next(), "invalid_channel")
        closed = await client.closed()
    assert closed.code == 4400
    await assert_ws_serves(gateway)
