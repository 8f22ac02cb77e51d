"""An engine.io socket's WebSocket transport, driven by the gateway.

python-engineio gives every WebSocket connection three tasks besides the
connection's own: a writer that sends each queued packet through ASGI, a
task per read (wrapped in ``wait_for`` for the heartbeat deadline) and a
task sleeping until the next PING. With thousands of mostly idle
connections those tasks are most of the memory and much of the work.
:class:`DirectSocket` keeps engine.io's protocol and replaces the three:

- packets go out as prebuilt frames written straight to the transport
  (see fastpath.py) whenever that keeps their order; otherwise they wait in
  the queue for a writer task that exists only while something waits;
- the connection's task reads packets itself, with no deadline per read;
- each PING is sent, and the transport dropped when its PONG is not back
  within engine.io's ping timeout, from :class:`Heartbeat`'s two shared
  timers rather than a sleeping task per socket.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet

from realtime.edges.deadlines import Deadlines
from realtime.edges.fastpath import FrameSink, text_frame
from realtime.edges.slim import SlimQueue


class Heartbeat:
    """The PING and PONG deadlines of every DirectSocket of one engine.io server."""

    __slots__ = ("pings", "pongs")

    def __init__(self) -> None:
        self.pings: Deadlines[DirectSocket] = Deadlines(DirectSocket.ping)
        self.pongs: Deadlines[tuple[DirectSocket, float]] = Deadlines(
            DirectSocket.check_pong
        )

    def cancel(self) -> None:
        self.pings.cancel()
        self.pongs.cancel()


class DirectSocket:
    """The WebSocket side of one engine.io socket (``eio_socket``)."""

    __slots__ = (
        "_engine_handler",
        "_heartbeat",
        "_send_queued",
        "_writer",
        "holding",
        "sink",
        "socket",
        "waiting",
        "ws",
    )

    def __init__(
        self,
        eio_socket: Any,
        sink: FrameSink,
        queue: SlimQueue[Any],
        heartbeat: Heartbeat | None,
    ) -> None:
        self.socket = eio_socket
        self._heartbeat = heartbeat
        self.sink = sink
        # The writer took packets off the queue and has not sent them all.
        self.holding = False
        # The queue's own list: a fan-out reads it for every recipient.
        self.waiting = queue.items
        self.ws: Any = None
        self._writer: asyncio.Task[None] | None = None
        self._send_queued = eio_socket.send
        self._engine_handler = eio_socket._websocket_handler
        # engine.io's own packets (CONNECT, acks, pings) take the same road,
        # so they keep their place among the events.
        eio_socket.send = self.send
        eio_socket.poll = self.poll

    @classmethod
    def attach(
        cls, eio_socket: Any, sink: FrameSink | None, heartbeat: Heartbeat | None
    ) -> DirectSocket | None:
        """Take over the socket's sends, if its server offers a frame sink.

        With a ``heartbeat`` the reads and the pings are taken over too (and
        the WebSocket's own pings turned off: engine.io's do that job).
        """
        queue = eio_socket.queue
        if sink is None or not isinstance(queue, SlimQueue):
            return None
        existing = cls.of(eio_socket)
        if existing is not None:
            return existing  # attached already, by an earlier connect
        direct = eio_socket.realtime_direct = cls(eio_socket, sink, queue, heartbeat)
        if heartbeat is not None:
            eio_socket.schedule_ping = direct.schedule_ping
            eio_socket._websocket_handler = direct.run
            queue.on_put = direct._ensure_writer
            sink.disable_keepalive()
        return direct

    @staticmethod
    def of(eio_socket: Any) -> DirectSocket | None:
        """The DirectSocket attached to ``eio_socket``, if any."""
        direct = getattr(eio_socket, "realtime_direct", None)
        return direct if isinstance(direct, DirectSocket) else None

    # -- writing ------------------------------------------------------------

    def ready(self) -> bool:
        """Whether a packet written now goes out in order."""
        return not self.holding and not self.waiting and self.sink.open

    async def send(self, pkt: eio_packet.Packet) -> None:
        if not pkt.binary and self.ready():
            self.sink.write(text_frame(pkt.encode()))
        else:
            await self._send_queued(pkt)  # engine.io's: checks the heartbeat first

    def _send_nowait(self, pkt: eio_packet.Packet) -> None:
        if not pkt.binary and self.ready():
            self.sink.write(text_frame(pkt.encode()))
        else:
            self.socket.queue.put_nowait(pkt)

    def _ensure_writer(self) -> None:
        # Called on every put: a writer runs while the queue is not empty.
        if self._writer is None and self.ws is not None:
            self._writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        queue: SlimQueue[Any] = self.socket.queue
        ws = self.ws
        try:
            while True:
                packets = []
                while queue.qsize():
                    packets.append(queue.get_nowait())
                    queue.task_done()
                if not packets:
                    return
                self.holding = True
                for pkt in packets:
                    if pkt is None:  # the close: nothing after it goes out
                        await ws.close()
                        return
                    await ws.send(pkt.encode())
                self.holding = False
        except Exception:
            # The peer went away mid-send; the reader sees the disconnect.
            return
        finally:
            self.holding = False
            self._writer = None

    async def poll(self) -> list[eio_packet.Packet]:
        """engine.io's writer's wait for queued packets, in two respects its own.

        Used when engine.io runs the WebSocket loop itself (attached without
        a heartbeat). It has no deadline: engine.io's writer gives up after
        ping_interval + ping_timeout seconds with nothing queued, which, with
        every packet written directly, would close healthy connections
        (engine.io's reader still drops a client that stops answering pings).
        And it takes the packet off the queue in the writer task itself
        (engine.io's wait_for takes it in a task of its own first), so a
        packet is always either in the queue or held, never unaccounted for
        while a direct write checks.
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

    # -- reading ------------------------------------------------------------

    async def run(self, ws: Any) -> None:
        """engine.io's WebSocket loop: read packets until the transport ends."""
        socket = self.socket
        if socket.connected:
            # Upgrading from long-polling: engine.io's own loop does the probe.
            await self._engine_handler(ws)
            return
        socket.connected = socket.upgraded = True
        server = socket.server
        self.ws = ws
        if self.waiting:
            self._ensure_writer()  # the OPEN and CONNECT packets queued so far
        while True:
            try:
                data = await ws.wait()
            except OSError:
                break  # the transport ended
            if data is None or len(data) > server.max_http_buffer_size:
                break  # engine.io drops an oversized packet's connection too
            try:
                await socket.receive(eio_packet.Packet(encoded_packet=data))
            except eio_exceptions.UnknownPacketError:
                pass
            except eio_exceptions.SocketIsClosedError:
                break
            except Exception:
                server.logger.exception("Unknown receive error")
        socket.queue.put_nowait(None)  # the writer closes the transport
        writer = self._writer
        if writer is not None:
            await writer
        await socket.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)

    # -- heartbeat ----------------------------------------------------------

    def schedule_ping(self) -> None:
        """engine.io's schedule_ping: the next PING once this cycle is answered."""
        socket = self.socket
        if socket.last_ping and self._heartbeat is not None:
            socket.last_ping = None
            self._heartbeat.pings.add(socket.server.ping_interval, self)

    def ping(self) -> None:
        socket = self.socket
        if socket.closing or socket.closed or self._heartbeat is None:
            return
        socket.last_ping = pinged_at = time.time()
        self._send_nowait(eio_packet.Packet(eio_packet.PING))
        self._heartbeat.pongs.add(socket.server.ping_timeout, (self, pinged_at))

    @staticmethod
    def check_pong(pinged: tuple[DirectSocket, float]) -> None:
        # A PONG clears last_ping (through schedule_ping): unchanged means
        # this PING was never answered.
        direct, pinged_at = pinged
        if direct.socket.last_ping == pinged_at:
            direct.sink.abort()
