"""Sending an engine.io socket's packets as prebuilt frames (see fastpath.py)."""

from __future__ import annotations

from typing import Any

from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet

from realtime.edges.fastpath import FrameSink, text_frame


class DirectWriter:
    """Writes an engine.io socket's packets straight to its transport.

    engine.io queues every packet for a writer task that sends it through
    ASGI; here each goes out as a prebuilt frame at once instead. Once the
    transport pushes back, everything goes through engine.io's queue for the
    rest of the connection: its writer may be holding packets it has taken
    off the queue but not sent, which a direct write would overtake.
    """

    __slots__ = ("_poll_queued", "_send_queued", "queued", "sink", "socket")

    def __init__(self, eio_socket: Any, sink: FrameSink) -> None:
        self.socket = eio_socket
        self.sink = sink
        self.queued = False
        self._send_queued = eio_socket.send
        self._poll_queued = eio_socket.poll
        # engine.io's own packets (CONNECT, acks, pings) take the same road,
        # so they keep their place among the events.
        eio_socket.send = self.send
        eio_socket.poll = self.poll

    @classmethod
    def attach(cls, eio_socket: Any, sink: FrameSink | None) -> DirectWriter | None:
        if sink is None:
            return None
        existing = getattr(eio_socket, "realtime_writer", None)
        if isinstance(existing, DirectWriter):
            return existing  # another namespace on the same socket got there first
        writer = eio_socket.realtime_writer = cls(eio_socket, sink)
        return writer

    def ready(self) -> bool:
        if self.queued:
            return False
        if self.sink.writable and self.socket.queue.empty():
            return True
        self.queued = True
        return False

    async def send(self, pkt: eio_packet.Packet) -> None:
        if not pkt.binary and self.ready():
            self.sink.write(text_frame(pkt.encode()))
        else:
            await self._send_queued(pkt)

    async def poll(self) -> list[eio_packet.Packet]:
        """engine.io's writer's wait for queued packets, without its deadline.

        The writer takes ping_interval + ping_timeout seconds with nothing
        queued for a dead client and closes the socket; with every packet,
        pings included, written directly, that silence means nothing. The
        reader still drops a client that stops answering pings, and wakes the
        writer when it does.
        """
        while True:
            try:
                packets: list[eio_packet.Packet] = await self._poll_queued()
            except eio_exceptions.QueueEmpty:
                if self.socket.closed or self.socket.closing:
                    raise
                continue
            return packets
