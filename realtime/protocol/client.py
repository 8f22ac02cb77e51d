"""Messages a plain WebSocket client sends, parsed and validated with no network."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from realtime.protocol.errors import ErrorCode, ProtocolError


def _id_to_str(value: object) -> object:
    # The platform's JSON carries numeric ids; the gateway speaks strings.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


ChannelId = Annotated[
    str, BeforeValidator(_id_to_str), Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
]
EventName = Annotated[str, Field(min_length=1, max_length=64)]


class ClientMessage(BaseModel):
    # Unknown extra fields are ignored: the platform's frontend adds its own.
    model_config = ConfigDict(extra="ignore", frozen=True)


class Ping(ClientMessage):
    type: Literal["ping"]


class Auth(ClientMessage):
    type: Literal["auth"]
    token: Annotated[str, Field(min_length=1, max_length=8192)]


class Subscribe(ClientMessage):
    type: Literal["subscribe"]
    events: Annotated[list[EventName], Field(max_length=64)] | None = None


class GetStatus(ClientMessage):
    type: Literal["get_status"]
    channel: str | None = None


class SubscribeExecution(ClientMessage):
    type: Literal["subscribe_execution", "unsubscribe_execution"]
    execution_id: ChannelId = Field(
        validation_alias=AliasChoices("executionId", "execution_id")
    )


class SubscribeChannel(ClientMessage):
    type: Literal["subscribe_channel", "unsubscribe_channel"]
    channel: Annotated[str, Field(min_length=1, max_length=80)]


class ControlCommand(ClientMessage):
    type: Literal["control_command"]
    command: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
    execution_id: ChannelId = Field(
        validation_alias=AliasChoices("execution_id", "executionId")
    )


class RequestLogs(ClientMessage):
    type: Literal["request_logs"]
    execution_id: ChannelId = Field(
        validation_alias=AliasChoices("execution_id", "executionId")
    )
    since: Annotated[int, Field(ge=0)] = 0
    limit: Annotated[int, Field(ge=1, le=1000)] = 1000


AnyClientMessage = (
    Ping
    | Auth
    | Subscribe
    | GetStatus
    | SubscribeExecution
    | SubscribeChannel
    | ControlCommand
    | RequestLogs
)

_MODELS: dict[str, type[ClientMessage]] = {
    "ping": Ping,
    "auth": Auth,
    "subscribe": Subscribe,
    "get_status": GetStatus,
    "subscribe_execution": SubscribeExecution,
    "unsubscribe_execution": SubscribeExecution,
    "subscribe_channel": SubscribeChannel,
    "unsubscribe_channel": SubscribeChannel,
    "control_command": ControlCommand,
    "request_logs": RequestLogs,
}

CLIENT_TYPES = frozenset(_MODELS)


def describe_validation_error(error: ValidationError) -> str:
    """One readable line out of pydantic's error list."""
    parts = []
    for item in error.errors(include_url=False)[:3]:
        where = ".".join(str(part) for part in item["loc"]) or "body"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def parse_frame(frame: str | bytes) -> ClientMessage:
    """Parse one client frame, or raise :class:`ProtocolError`."""
    try:
        raw: Any = orjson.loads(frame)
    except orjson.JSONDecodeError:
        raise ProtocolError(ErrorCode.INVALID_JSON, "the frame is not JSON") from None
    if not isinstance(raw, dict):
        raise ProtocolError(ErrorCode.INVALID_JSON, "the frame is not a JSON object")
    return parse_object(raw)


def parse_object(raw: dict[str, Any]) -> ClientMessage:
    kind = raw.get("type")
    if not isinstance(kind, str):
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, "type: a string is required")
    model = _MODELS.get(kind)
    if model is None:
        raise ProtocolError(
            ErrorCode.UNKNOWN_TYPE, f"unknown message type {kind[:64]!r}"
        )
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE, describe_validation_error(error)
        ) from None
