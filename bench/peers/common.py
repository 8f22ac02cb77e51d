"""What the Python peers share: the publish body they accept and the envelope."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

import orjson


class Rooms:
    """Per-room offsets, so a peer's envelope has the gateway's shape and size."""

    def __init__(self) -> None:
        self.offsets: dict[str, int] = {}

    def envelope(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """``(room, envelope)`` for one publication ``{channel, type, data}``."""
        channel = str(body["channel"])
        room = channel.partition(":")[2] or channel
        offset = self.offsets.get(room, 0) + 1
        self.offsets[room] = offset
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
        return room, {
            "type": body["type"],
            "channel": channel,
            "offset": offset,
            "epoch": "peer",
            "timestamp": stamp.replace("+00:00", "Z"),
            "service": "peer",
            "data": body["data"],
        }


def answer(channel: str, offset: int) -> bytes:
    return orjson.dumps({"results": [{"channel": channel, "offset": offset}]})


def parse_port() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    port: int = parser.parse_args().port
    return port


def uvicorn_options() -> dict[str, Any]:
    """The protocol settings the gateway's ``realtime serve`` gives uvicorn.

    Written out rather than imported: the peers must not break when the
    gateway's code changes, and these are the settings that shape the work per
    frame (no per-message deflate, the same frame limit).
    """
    return {
        "ws_max_size": 64 * 1024,
        "ws_per_message_deflate": False,
        "log_config": None,
        "log_level": "warning",
        "lifespan": "on",
        "timeout_graceful_shutdown": 10,
    }
