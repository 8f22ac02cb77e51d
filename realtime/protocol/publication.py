"""What a publisher sends: validated once, whatever the entry point."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from realtime.protocol.channels import Channel, ChannelKind, parse_channel
from realtime.protocol.client import describe_validation_error
from realtime.protocol.errors import ErrorCode, ProtocolError

MAX_BATCH = 1000
MAX_CHANNELS = 100

# Types the gateway sends on its own; a publisher may not impersonate them.
RESERVED_TYPES = frozenset(
    {
        "connection",
        "pong",
        "subscribed",
        "unsubscribed",
        "authenticated",
        "recovery",
        "error",
        "control_result",
        "system_metrics",
        # Also the gateway's own: its greeting on monitor and its log answers.
        "system_status",
        "execution_logs",
    }
)

MessageType = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class Publication(BaseModel):
    """One publication as the HTTP API and the Python publisher take it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str | None = None
    channels: (
        Annotated[list[str], Field(min_length=1, max_length=MAX_CHANNELS)] | None
    ) = None
    type: MessageType
    data: dict[str, Any] = Field(default_factory=dict)
    message: Annotated[str, Field(max_length=4096)] | None = None
    state: bool | None = None
    idempotency_key: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    version: int | None = None

    @model_validator(mode="after")
    def _one_way_to_name_channels(self) -> Publication:
        if (self.channel is None) == (self.channels is None):
            raise ValueError("give either 'channel' or 'channels'")
        return self


@dataclass(frozen=True, slots=True)
class PublishItem:
    """A publication to exactly one channel, as backends store it."""

    channel: Channel
    type: str
    data: dict[str, Any]
    message: str | None = None
    state: bool = False
    idempotency_key: str | None = None
    version: int | None = None


def _code_for(error: ValidationError) -> ErrorCode:
    first = error.errors(include_url=False)[0]
    field = next((part for part in first["loc"] if isinstance(part, str)), "")
    return {
        "channel": ErrorCode.INVALID_CHANNEL,
        "channels": ErrorCode.INVALID_CHANNEL,
        "type": ErrorCode.INVALID_TYPE,
        "data": ErrorCode.INVALID_DATA,
    }.get(field, ErrorCode.INVALID_MESSAGE)


def to_items(publication: Publication) -> list[PublishItem]:
    """Split a validated publication into one item per channel."""
    if publication.type in RESERVED_TYPES:
        raise ProtocolError(
            ErrorCode.RESERVED_TYPE,
            f"type {publication.type!r} is one the gateway sends itself",
        )
    names = publication.channels or [publication.channel or ""]
    if len(set(names)) != len(names):
        raise ProtocolError(ErrorCode.INVALID_CHANNEL, "a channel is listed twice")
    channels = [parse_channel(name) for name in names]
    if any(channel.kind is ChannelKind.SYSTEM for channel in channels[1:]) or (
        len(channels) > 1 and channels[0].kind is ChannelKind.SYSTEM
    ):
        # system reaches everyone already; mixing it in would deliver twice.
        raise ProtocolError(ErrorCode.INVALID_CHANNEL, "publish to 'system' on its own")
    state = publication.state
    if state is None:
        state = publication.type.endswith("_status")
    return [
        PublishItem(
            channel=channel,
            type=publication.type,
            data=publication.data,
            message=publication.message,
            state=state,
            idempotency_key=publication.idempotency_key,
            version=publication.version,
        )
        for channel in channels
    ]


def parse_publications(raw: object) -> list[list[PublishItem]]:
    """Validate one publication or a list of them; all or nothing.

    Returns, per publication, its items (one per channel).
    """
    batch = raw if isinstance(raw, list) else [raw]
    if not batch:
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, "the list is empty")
    if len(batch) > MAX_BATCH:
        raise ProtocolError(
            ErrorCode.PAYLOAD_TOO_LARGE, f"at most {MAX_BATCH} publications a request"
        )
    parsed = []
    for index, entry in enumerate(batch):
        where = f"publication {index}: " if isinstance(raw, list) else ""
        if not isinstance(entry, dict):
            raise ProtocolError(
                ErrorCode.INVALID_MESSAGE, f"{where}a publication is a JSON object"
            )
        try:
            publication = Publication.model_validate(entry)
            parsed.append(to_items(publication))
        except ValidationError as error:
            raise ProtocolError(
                _code_for(error), where + describe_validation_error(error)
            ) from None
        except ProtocolError as error:
            raise ProtocolError(error.code, where + error.detail) from None
    return parsed


def encoded_size(data: dict[str, Any]) -> int:
    """The size of ``data`` as JSON; ``invalid_data`` if JSON cannot carry it.

    Python callers can hand over anything; HTTP bodies were JSON already.
    """
    try:
        return len(orjson.dumps(data))
    except TypeError as error:
        raise ProtocolError(ErrorCode.INVALID_DATA, str(error)) from None
