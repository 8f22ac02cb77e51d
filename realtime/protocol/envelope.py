"""The envelope every message travels in, encoded once and shared by recipients."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson

from realtime import SERVICE_NAME

T = TypeVar("T")

JSONObject = dict[str, Any]


def utc_timestamp() -> str:
    """Now as ISO-8601 UTC with milliseconds and a ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def dumps(value: object) -> str:
    return orjson.dumps(value).decode()


class Message:
    """One message from the gateway to clients.

    Published messages carry an ``offset`` and ``epoch``; what the gateway says
    on its own carries neither. The JSON text and any per-edge encoding are
    computed on first use and then shared by every recipient, so a fan-out to a
    thousand connections encodes once.
    """

    __slots__ = (
        "_cache",
        "_json",
        "channel",
        "data",
        "epoch",
        "message",
        "offset",
        "timestamp",
        "type",
    )

    def __init__(
        self,
        type: str,
        channel: str | None,
        data: JSONObject,
        *,
        offset: int | None = None,
        epoch: str | None = None,
        timestamp: str | None = None,
        message: str | None = None,
        json: str | None = None,
    ) -> None:
        self.type = type
        self.channel = channel
        self.data = data
        self.offset = offset
        self.epoch = epoch
        self.timestamp = timestamp or utc_timestamp()
        self.message = message
        self._json = json
        self._cache: dict[str, Any] | None = None

    @property
    def published(self) -> bool:
        return self.offset is not None

    def envelope(self) -> JSONObject:
        envelope: JSONObject = {
            "type": self.type,
            "channel": self.channel,
            "offset": self.offset,
            "epoch": self.epoch,
            "timestamp": self.timestamp,
            "service": SERVICE_NAME,
            "data": self.data,
        }
        if self.message is not None:
            envelope["message"] = self.message
        return envelope

    @property
    def json(self) -> str:
        if self._json is None:
            self._json = dumps(self.envelope())
        return self._json

    def encoded(self, key: str, encode: Callable[[Message], T]) -> T:
        """``encode(self)``, computed once per key and kept with the message."""
        if self._cache is None:
            self._cache = {}
        try:
            value: T = self._cache[key]
        except KeyError:
            value = self._cache[key] = encode(self)
        return value

    @classmethod
    def from_json(cls, text: str | bytes) -> Message:
        """Rebuild a message from its own JSON (as kept in history)."""
        raw = orjson.loads(text)
        json_text = text.decode() if isinstance(text, bytes) else text
        return cls(
            raw["type"],
            raw["channel"],
            raw["data"],
            offset=raw["offset"],
            epoch=raw["epoch"],
            timestamp=raw["timestamp"],
            message=raw.get("message"),
            json=json_text,
        )

    def __repr__(self) -> str:
        return f"<Message {self.type} {self.channel} offset={self.offset}>"


def gateway_message(
    type: str,
    data: JSONObject,
    *,
    channel: str | None = None,
    message: str | None = None,
) -> Message:
    """A message the gateway says on its own: no offset, no epoch."""
    return Message(type, channel, data, message=message)


def error_message(code: str, detail: str, *, channel: str | None = None) -> Message:
    return gateway_message(
        "error", {"code": code, "detail": detail}, channel=channel, message=detail
    )
