"""Channel names (``execution:42``), their kinds and their Socket.IO namespaces."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from realtime.protocol.errors import ErrorCode, ProtocolError

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class ChannelKind(StrEnum):
    MONITOR = "monitor"
    SYSTEM = "system"
    PIPELINE = "pipeline"
    EXECUTION = "execution"
    PROJECT = "project"
    USER = "user"

    @property
    def has_id(self) -> bool:
        return self not in (ChannelKind.MONITOR, ChannelKind.SYSTEM)


# Kinds a client follows by id on the namespace of the same name.
ID_KINDS = (ChannelKind.PIPELINE, ChannelKind.EXECUTION, ChannelKind.PROJECT)


@dataclass(frozen=True, slots=True)
class Channel:
    kind: ChannelKind
    id: str | None = None

    @property
    def name(self) -> str:
        return self.kind.value if self.id is None else f"{self.kind.value}:{self.id}"

    @property
    def namespace(self) -> str:
        return "/" + self.kind.value

    def __str__(self) -> str:
        return self.name


MONITOR = Channel(ChannelKind.MONITOR)
SYSTEM = Channel(ChannelKind.SYSTEM)


def is_valid_id(value: object) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def channel_of(kind: ChannelKind, channel_id: object = None) -> Channel:
    """The channel of ``kind`` and ``channel_id``, or ``invalid_channel``."""
    if not kind.has_id:
        return Channel(kind)
    if isinstance(channel_id, int) and not isinstance(channel_id, bool):
        channel_id = str(channel_id)  # numeric ids are common in the platform's JSON
    if not is_valid_id(channel_id):
        raise ProtocolError(
            ErrorCode.INVALID_CHANNEL,
            f"{kind.value} id: 1 to 64 characters of A-Z a-z 0-9 _ -",
        )
    assert isinstance(channel_id, str)
    return Channel(kind, channel_id)


def parse_channel(name: object) -> Channel:
    """Parse ``"execution:42"``, ``"monitor"`` ... or raise ``invalid_channel``."""
    if not isinstance(name, str):
        raise ProtocolError(ErrorCode.INVALID_CHANNEL, "a channel name is a string")
    kind_name, sep, channel_id = name.partition(":")
    try:
        kind = ChannelKind(kind_name)
    except ValueError:
        raise ProtocolError(
            ErrorCode.INVALID_CHANNEL, f"unknown channel kind {kind_name[:32]!r}"
        ) from None
    if kind.has_id != bool(sep):
        expected = f"{kind.value}:ID" if kind.has_id else kind.value
        raise ProtocolError(ErrorCode.INVALID_CHANNEL, f"expected {expected}")
    return channel_of(kind, channel_id if sep else None)
