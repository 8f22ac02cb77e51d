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

import logging
import struct
from collections.abc import Mapping
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import (
    WebSocketsSansIOProtocol,
)

from realtime.edges.slim import SlimEvent, SlimQueue
from realtime.logs import HANDSHAKE_LOGGER

EXTENSION = "realtime.frames"
_handshake_logger = logging.getLogger(HANDSHAKE_LOGGER)  # see realtime/logs.py


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
    """Direct writes to one connection's transport, for as long as that is safe.

    ``open`` says whether a frame written now goes out, in order: the
    handshake is done, no close frame was sent, the transport is neither
    pushing back nor closed. The protocol keeps it current, so a fan-out
    checks one flag per recipient instead of asking the protocol and the
    transport each time.
    """

    __slots__ = ("_protocol", "_transport", "open")

    def __init__(self, protocol: FastWebSocketProtocol) -> None:
        self._protocol = protocol
        self._transport = protocol.transport
        self.open = False

    def write(self, frame: bytes) -> None:
        try:
            self._transport.write(frame)
        except RuntimeError:
            # Closed in a way no protocol callback reported yet.
            self.open = False

    def disable_keepalive(self) -> None:
        """No WebSocket pings: the application's protocol has a heartbeat of its own."""
        protocol = self._protocol
        protocol.stop_keepalive()
        protocol.ping_interval = None

    def abort(self) -> None:
        """Drop the connection at once, for a client that stopped reading."""
        self.open = False
        self._transport.abort()


class FastWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol, offering a :class:`FrameSink`.

    It also carries less per connection: a slim receive queue and writable
    flag (see slim.py), and no handshake request or response once the
    handshake is done. Ten thousand idle connections are the common case.
    """

    sink: FrameSink | None = None
    _close_sent = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.logger = self.conn.logger = _handshake_logger
        self.queue = SlimQueue()  # type: ignore[assignment]
        self.writable = SlimEvent()  # type: ignore[assignment]
        self.writable.set()

    # uvicorn sets close_sent wherever it sends or fails a close; the sink
    # must stop writing at that moment.
    @property
    def close_sent(self) -> bool:
        return self._close_sent

    @close_sent.setter
    def close_sent(self, value: bool) -> None:
        self._close_sent = value
        self._update_sink()

    def _update_sink(self) -> None:
        sink = self.sink
        if sink is not None:
            sink.open = (
                self.handshake_complete
                and self.initial_response is None
                and not self._close_sent
                and not self.disconnected
                and self.writable.is_set()
                and not self.transport.is_closing()
            )

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        # The scope holds the headers the application reads; the parsed
        # request is not read again (though websockets' parser keeps it).
        vars(self).pop("request", None)
        event.headers.clear()
        scope = getattr(self, "scope", None)
        if scope is not None:
            # The application task was created above but has not run yet.
            self.sink = scope["extensions"][EXTENSION] = FrameSink(self)

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            vars(self).pop("response", None)  # sent; only the handshake used it
            self._update_sink()

    def pause_writing(self) -> None:
        super().pause_writing()
        self._update_sink()

    def resume_writing(self) -> None:
        super().resume_writing()
        self._update_sink()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._update_sink()

    def handle_close(self, event: Any) -> None:
        super().handle_close(event)
        self._update_sink()

    def shutdown(self) -> None:
        super().shutdown()
        self._update_sink()


def frame_sink(scope: Mapping[str, Any] | None) -> FrameSink | None:
    """The scope's frame sink, if the server offers one."""
    if not scope:
        return None
    sink = (scope.get("extensions") or {}).get(EXTENSION)
    return sink if isinstance(sink, FrameSink) else None
