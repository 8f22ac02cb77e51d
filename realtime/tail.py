"""``realtime tail``: follow one channel over the plain WebSocket protocol.

It remembers the last offset and epoch it printed and reconnects with them,
so a dropped connection or a restarted gateway loses nothing it still keeps.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from urllib.parse import urlencode

import orjson
import websockets

from realtime.protocol.channels import ChannelKind, parse_channel
from realtime.protocol.errors import CloseCode, ProtocolError

logger = logging.getLogger(__name__)

# Close codes after which reconnecting cannot help.
_FINAL = {CloseCode.INVALID_CHANNEL, CloseCode.UNAUTHORIZED, CloseCode.FORBIDDEN}


def channel_path(channel: str) -> str:
    try:
        parsed = parse_channel(channel)
    except ProtocolError as error:
        raise ValueError(error.detail) from None
    if parsed.kind is ChannelKind.USER:
        raise ValueError("user channels reach a user's connections; tail another")
    if parsed.id is None:
        return f"/ws/{parsed.kind.value}"
    return f"/ws/{parsed.kind.value}/{parsed.id}"


async def tail_channel(
    base_url: str,
    channel: str,
    *,
    token: str | None = None,
    events: list[str] | None = None,
    max_backoff: float = 16.0,
) -> None:
    base = (
        base_url.rstrip("/").replace("http://", "ws://").replace("https://", "wss://")
    )
    path = channel_path(channel)
    since: int | None = None
    epoch: str | None = None
    backoff = 1.0
    while True:
        query: dict[str, str] = {}
        if token:
            query["token"] = token
        if since is not None and epoch is not None:
            query.update(since=str(since), epoch=epoch)
        url = base + path + ("?" + urlencode(query) if query else "")
        try:
            async with websockets.connect(url, max_size=None) as socket:
                backoff = 1.0
                if events:
                    await socket.send(
                        orjson.dumps({"type": "subscribe", "events": events})
                    )
                async for frame in socket:
                    message = orjson.loads(frame)
                    data = message.get("data") or {}
                    fresh = data.get("epoch") and data["epoch"] != epoch
                    if message.get("type") == "connection" and fresh:
                        # A new epoch: offsets start again from the gateway's.
                        since, epoch = data["offset"], data["epoch"]
                    offset = message.get("offset")
                    if message.get("channel") == channel and offset:
                        # The state can be older than the position: never go back.
                        same = message["epoch"] == epoch and since is not None
                        since = max(since, offset) if same else offset
                        epoch = message["epoch"]
                    sys.stdout.write(
                        frame if isinstance(frame, str) else frame.decode()
                    )
                    sys.stdout.write("\n")
                    sys.stdout.flush()
        except websockets.ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
            if code in _FINAL:
                raise ValueError(
                    f"closed by the gateway ({code}): {closed.rcvd}"
                ) from None
        except OSError as error:
            print(f"# cannot reach {base}: {error}", file=sys.stderr)
        print(f"# reconnecting in {backoff:.0f}s", file=sys.stderr)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, max_backoff)
