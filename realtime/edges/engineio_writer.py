"""Sending an engine.io socket's packets as prebuilt frames (see fastpath.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet

from realtime.edges.fastpath import FrameSink, text_frame


class DirectWriter:
    """Writes an engine.io socket's packets straight to its transport.

    engine.io queues every packet for a writer task that sends it through
    ASGI; here each goes out as a prebuilt frame at once instead, as long as
    that keeps the order: nothing waits in the queue, the writer holds no
    packet it has taken but not yet sent, and the transport is not pushing
    back. Otherwise the packet joins the queue, and direct writes resume once
    the writer has caught up.
    """

    __slots__ = ("_send_queued", "holding", "sink", "socket")

    def __init__(self, eio_socket: Any, sink: FrameSink) -> None:
        self.socket = eio_socket
        self.sink = sink
        self.holding = False
        self._send_queued = eio_socket.send
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
        """Whether a packet written now goes out in order."""
        return not self.holding and self.socket.queue.empty() and self.sink.writable

    async def send(self, pkt: eio_packet.Packet) -> None:
        if not pkt.binary and self.ready():
            self.sink.write(text_frame(pkt.encode()))
        else:
            await self._send_queued(pkt)

    async def poll(self) -> list[eio_packet.Packet]:
        """engine.io's writer's wait for queued packets, in two respects its own.

        It has no deadline: engine.io's writer gives up after ping_interval +
        ping_timeout seconds with nothing queued, which, with every packet
        written directly, would close healthy connections (engine.io's reader
        still drops a client that stops answering pings). And it takes the
        packet off the queue in the writer task itself (engine.io's wait_for
        takes it in a task of its own first), so a packet is always either in
        the queue or held, never unaccounted for while a direct write checks.
        """
        self.holding = False  # called again: the writer sent all it took
        queue = self.socket.queue
        try:
            first = await queue.get()
        except asyncio.CancelledError:
            raise eio_exceptions.QueueEmpty() from None  # as engine.io's poll does
        queue.task_done()
        if first is None:
            return []
        packets = [first]
        while True:
            try:
                packet = queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            queue.task_done()
            if packet is None:
                queue.put_nowait(None)  # the close, for the next poll
                break
            packets.append(packet)
        self.holding = True
        return packets
