"""Writing one prebuilt frame to many sockets, under uvicorn.

Through ASGI, every recipient of a fan-out costs a ``send`` call, a frame built
again from the same text, and a task switch in the connection's writer. A
server frame is never masked, so the bytes are the same for every recipient:
built once per message, they can go straight to each transport.

:class:`FastWebSocketProtocol` is uvicorn's WebSocket protocol plus one ASGI
scope extension, ``realtime.frames``: a :class:`FrameSink` with which the
application writes whole frames to the transport. Under any other server the
extension is absent and the edges fall back to plain ASGI sends.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import (
    WebSocketsSansIOProtocol,
)

EXTENSION = "realtime.frames"


def text_frame(text: str) -> bytes:
    """One unmasked, final WebSocket text frame carrying ``text``."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


class FrameSink:
    """Direct writes to one connection's transport, for as long as that is safe."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol

    @property
    def writable(self) -> bool:
        """Open, and not pushing back: a write now goes out in order."""
        protocol = self._protocol
        return (
            protocol.writable.is_set()
            and not protocol.close_sent
            and not protocol.disconnected
            and not protocol.transport.is_closing()
        )

    @property
    def buffered(self) -> int:
        """Bytes written but not yet taken by the kernel."""
        size: int = self._protocol.transport.get_write_buffer_size()
        return size

    def write(self, frame: bytes) -> None:
        self._protocol.transport.write(frame)

    def abort(self) -> None:
        """Drop the connection at once, for a client that stopped reading."""
        self._protocol.transport.abort()


class FastWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol, offering a :class:`FrameSink`."""

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:
            # The application task was created above but has not run yet.
            scope["extensions"][EXTENSION] = FrameSink(self)


def frame_sink(scope: Mapping[str, Any] | None) -> FrameSink | None:
    """The scope's frame sink, if the server offers one."""
    if not scope:
        return None
    sink = (scope.get("extensions") or {}).get(EXTENSION)
    return sink if isinstance(sink, FrameSink) else None
