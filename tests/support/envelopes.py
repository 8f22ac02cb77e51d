"""What every envelope from the gateway must look like."""

from __future__ import annotations

import re
from typing import Any

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
KEYS = {"type", "channel", "offset", "epoch", "timestamp", "service", "data"}


def assert_envelope(message: dict[str, Any]) -> None:
    """One JSON object with the envelope's fields; data always an object."""
    assert KEYS <= set(message) <= KEYS | {"message"}, message
    assert message["service"] == "realtime"
    assert ISO_UTC.match(message["timestamp"]), message["timestamp"]
    assert isinstance(message["data"], dict)
    assert isinstance(message["type"], str)


def assert_gateway_says(message: dict[str, Any], type: str) -> dict[str, Any]:
    """A message of the gateway's own: offset and epoch null. Returns its data."""
    assert_envelope(message)
    assert message["type"] == type, message
    assert message["offset"] is None
    assert message["epoch"] is None
    data: dict[str, Any] = message["data"]
    return data


def assert_published(
    message: dict[str, Any], type: str, channel: str, offset: int
) -> dict[str, Any]:
    """A published message of ``type`` on ``channel`` at ``offset``; its data."""
    assert_envelope(message)
    assert (message["type"], message["channel"], message["offset"]) == (
        type,
        channel,
        offset,
    ), message
    assert isinstance(message["epoch"], str)
    assert message["epoch"]
    data: dict[str, Any] = message["data"]
    return data


def assert_error(message: dict[str, Any], code: str) -> None:
    """An ``error`` whose ``data.code`` is ``code``, with a string detail."""
    data = assert_gateway_says(message, "error")
    assert data["code"] == code, message
    assert isinstance(data["detail"], str)
