"""Frames a plain WebSocket client sends, parsed with no network."""

from __future__ import annotations

import orjson
import pytest

from realtime.protocol import client as msg
from realtime.protocol.client import parse_frame
from realtime.protocol.errors import ErrorCode, ProtocolError


def msg_json(message: dict) -> str:
    return orjson.dumps(message).decode()


def _code_of(frame: str | bytes) -> ErrorCode:
    with pytest.raises(ProtocolError) as caught:
        parse_frame(frame)
    return caught.value.code


def test_ping_parses() -> None:
    """{"type": "ping"} is a Ping."""
    assert isinstance(parse_frame('{"type": "ping"}'), msg.Ping)


def test_a_binary_frame_of_json_parses_too() -> None:
    """A frame sent as bytes is read as JSON just the same."""
    assert isinstance(parse_frame(b'{"type": "ping"}'), msg.Ping)


def test_auth_carries_its_token() -> None:
    """auth's token is kept as given."""
    parsed = parse_frame('{"type": "auth", "token": "abc"}')
    assert isinstance(parsed, msg.Auth)
    assert parsed.token == "abc"


def test_subscribe_lists_its_events() -> None:
    """subscribe keeps its events; absent events mean None."""
    parsed = parse_frame('{"type": "subscribe", "events": ["status_update"]}')
    assert isinstance(parsed, msg.Subscribe)
    assert parsed.events == ["status_update"]
    bare = parse_frame('{"type": "subscribe"}')
    assert isinstance(bare, msg.Subscribe)
    assert bare.events is None


@pytest.mark.parametrize("kind", ["subscribe_execution", "unsubscribe_execution"])
@pytest.mark.parametrize("field", ["executionId", "execution_id"])
@pytest.mark.parametrize("value", ["42", 42])
def test_subscribe_execution_takes_the_frontends_spelling(
    kind: str, field: str, value: object
) -> None:
    """executionId (or execution_id), string or number, becomes the string id."""
    parsed = parse_frame(msg_json({"type": kind, field: value}))
    assert isinstance(parsed, msg.SubscribeExecution)
    assert parsed.execution_id == "42"


def test_request_logs_defaults_to_everything_from_the_start() -> None:
    """request_logs without since or limit asks from 0 for up to 1000."""
    parsed = parse_frame('{"type": "request_logs", "execution_id": "42"}')
    assert isinstance(parsed, msg.RequestLogs)
    assert (parsed.since, parsed.limit) == (0, 1000)


def test_control_command_carries_command_and_execution() -> None:
    """control_command has a command and an execution id."""
    parsed = parse_frame(
        '{"type": "control_command", "command": "stop", "execution_id": "42"}'
    )
    assert isinstance(parsed, msg.ControlCommand)
    assert (parsed.command, parsed.execution_id) == ("stop", "42")


def test_unknown_extra_fields_are_ignored() -> None:
    """The platform's frontend adds fields of its own; they do no harm."""
    assert isinstance(
        parse_frame('{"type": "ping", "timestamp": 1, "extra": {}}'), msg.Ping
    )


@pytest.mark.parametrize("frame", ["not json", "{", "", b"\xff\xfe", "{'a': 1}"])
def test_a_frame_that_is_not_json_is_invalid_json(frame: str | bytes) -> None:
    """Anything JSON cannot read is invalid_json."""
    assert _code_of(frame) is ErrorCode.INVALID_JSON


@pytest.mark.parametrize("frame", ["[]", '["ping"]', '"ping"', "42", "null", "true"])
def test_json_that_is_not_an_object_is_invalid_json(frame: str) -> None:
    """Arrays, strings, numbers and null are invalid_json too."""
    assert _code_of(frame) is ErrorCode.INVALID_JSON


@pytest.mark.parametrize("kind", ["dance", "PING", "pong", "connection", ""])
def test_an_unknown_type_is_unknown_type(kind: str) -> None:
    """A type the gateway does not take is unknown_type."""
    assert _code_of(msg_json({"type": kind})) is ErrorCode.UNKNOWN_TYPE


@pytest.mark.parametrize(
    "message",
    [
        {},
        {"type": None},
        {"type": 1},
        {"type": ["ping"]},
        {"type": "auth"},
        {"type": "auth", "token": ""},
        {"type": "auth", "token": 123},
        {"type": "subscribe", "events": "status_update"},
        {"type": "subscribe", "events": [1]},
        {"type": "subscribe", "events": [""]},
        {"type": "subscribe_execution"},
        {"type": "subscribe_execution", "executionId": "a.b"},
        {"type": "subscribe_execution", "executionId": "x" * 65},
        {"type": "subscribe_execution", "executionId": True},
        {"type": "subscribe_channel"},
        {"type": "subscribe_channel", "channel": 5},
        {"type": "get_status", "channel": 5},
        {"type": "control_command", "execution_id": "42"},
        {"type": "control_command", "command": "Stop!", "execution_id": "42"},
        {"type": "request_logs"},
        {"type": "request_logs", "execution_id": "42", "since": -1},
        {"type": "request_logs", "execution_id": "42", "limit": 0},
        {"type": "request_logs", "execution_id": "42", "limit": 1001},
        {"type": "request_logs", "execution_id": "42", "since": "soon"},
    ],
)
def test_a_missing_or_wrong_field_is_invalid_message(message: dict) -> None:
    """Every missing or mistyped field is invalid_message."""
    assert _code_of(msg_json(message)) is ErrorCode.INVALID_MESSAGE
