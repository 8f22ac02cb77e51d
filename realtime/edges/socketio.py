"""The Socket.IO edge: python-socketio namespaces, fed straight from the bus."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NoReturn

import engineio
import socketio
from engineio import packet as eio_packet
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from realtime.auth import Identity, token_from_scope
from realtime.bus.backend import BackendUnavailable
from realtime.edges.engineio_socket import DirectSocket, Heartbeat
from realtime.edges.fastpath import frame_sink, text_frame
from realtime.edges.limits import RateLimit
from realtime.edges.slim import SlimQueue
from realtime.gateway import SOCKETIO, Gateway
from realtime.origins import OriginPolicy
from realtime.protocol.channels import (
    ID_KINDS,
    MONITOR,
    SYSTEM,
    Channel,
    ChannelKind,
    channel_of,
)
from realtime.protocol.client import EventName, describe_validation_error
from realtime.protocol.envelope import Message, error_message, gateway_message
from realtime.protocol.errors import ErrorCode, ProtocolError
from realtime.protocol.filters import ACCEPT_ALL, EventFilter

logger = logging.getLogger(__name__)

Ack = dict[str, Any]


def _event_packet(namespace: str) -> Callable[[Message], eio_packet.Packet]:
    # The Socket.IO EVENT packet for ``[type, envelope]`` on ``namespace``,
    # spliced from the envelope's JSON so no recipient encodes it again.
    prefix = "2" if namespace == "/" else f"2{namespace},"

    def encode(message: Message) -> eio_packet.Packet:
        text = f'{prefix}["{message.type}",{message.json}]'
        return eio_packet.Packet(eio_packet.MESSAGE, data=text)

    return encode


# Events acknowledged with {"ok": ...}; the others answer with envelopes.
_ACK_EVENTS = frozenset({"subscribe", "unsubscribe"})

# How often, in queued packets, a backed-up queue has its bytes added up.
_BYTES_CHECK_EVERY = 64


class SocketIOConnection:
    """One client on one namespace; a :class:`~realtime.bus.subscription.Subscriber`."""

    __slots__ = (
        "_direct",
        "_encode",
        "_frame_key",
        "_namespace",
        "_socket",
        "identity",
        "namespace",
        "rate",
        "sid",
        "too_slow",
    )

    events = ACCEPT_ALL

    def __init__(
        self,
        sid: str,
        namespace: GatewayNamespace,
        identity: Identity,
        eio_socket: Any,
        direct: DirectSocket | None,
    ) -> None:
        self.sid = sid
        self.namespace = namespace.namespace
        self.identity = identity
        self.rate = RateLimit(namespace.gateway.settings.max_client_rate)
        self.too_slow = False
        self._namespace = namespace
        self._socket = eio_socket
        self._direct = direct
        self._encode = _event_packet(self.namespace)
        self._frame_key = "frame" + self.namespace

    @property
    def user_id(self) -> str | None:
        return self.identity.user_id

    def send(self, message: Message) -> None:
        if self.too_slow:
            return
        direct = self._direct
        if direct is not None and direct.ready():
            direct.sink.write(message.encoded(self._frame_key, self._frame))
            return
        socket = self._socket
        if socket.closed:
            return
        queue = socket.queue
        if self._backed_up(queue):
            self.too_slow = True
            self._namespace.cut_slow(self, queue)
            return
        # Straight onto engine.io's queue for this socket: the same place
        # AsyncServer.emit puts packets, without a task per recipient.
        queue.put_nowait(message.encoded(self.namespace, self._encode))

    def _frame(self, message: Message) -> bytes:
        packet = message.encoded(self.namespace, self._encode)
        return text_frame(packet.encode())

    def _backed_up(self, queue: SlimQueue[Any]) -> bool:
        settings = self._namespace.gateway.settings
        size = queue.qsize()
        if size >= settings.max_queue_messages:
            return True
        if size < _BYTES_CHECK_EVERY or size % _BYTES_CHECK_EVERY:
            return False
        # engine.io keeps no byte count; add up what waits, now and then.
        queued = sum(len(p.data) for p in queue.items if isinstance(p.data, str))
        return bool(queued >= settings.max_queue_bytes)

    async def drain(self) -> None:
        """Send what is queued, then close the transport; the client reconnects."""
        try:
            await self._namespace.close_transport(self)
        except asyncio.CancelledError:
            # Out of drain time: drop a client that stopped reading (see the
            # plain WebSocket edge), so uvicorn's shutdown need not wait for it.
            if self._direct is not None:
                self._direct.sink.abort()
            raise


def _client(environ: dict[str, Any]) -> str:
    """The peer's address, after uvicorn's trusted proxy headers, as host:port."""
    client = (environ.get("asgi.scope") or {}).get("client")
    return f"{client[0]}:{client[1]}" if client else "unknown"


# Ids are checked by channel_of, which answers invalid_channel as the paths do.


class _SubscribeRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: Any
    since: int | None = Field(default=None, ge=0)
    epoch: str | None = Field(default=None, max_length=64)
    events: list[EventName] | None = Field(default=None, max_length=64)


class _IdRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: Any = None


class _LogsRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    execution_id: Any
    since: int = Field(default=0, ge=0)
    limit: int = Field(default=1000, ge=1, le=1000)


class _ControlRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    command: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    execution_id: Any


class GatewayNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """One namespace: ``/monitor``, ``/system``, ``/pipeline``, ``/execution``..."""

    def __init__(self, kind: ChannelKind, gateway: Gateway) -> None:
        super().__init__("/" + kind.value)
        self.kind = kind
        self.gateway = gateway
        self.connections: dict[str, SocketIOConnection] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._handlers: dict[str, Callable[[SocketIOConnection, Any], Awaitable[Ack]]]
        self._handlers = {
            "ping": self._ping,
            "get_status": self._get_status,
            "request_logs": self._request_logs,
            "control_command": self._control_command,
        }
        if kind in ID_KINDS:
            self._handlers["subscribe"] = self._subscribe
            self._handlers["unsubscribe"] = self._unsubscribe

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event == "connect":
            return await self._connect(*args)
        if event == "disconnect":
            return self._disconnect(args[0], args[2] if len(args) > 2 else None)
        sid = args[0]
        connection = self.connections.get(sid)
        handler = self._handlers.get(event)
        if connection is None or handler is None:
            return None
        data = args[1] if len(args) > 1 else None
        refuse = self._refusal if event in _ACK_EVENTS else self._error_envelope
        try:
            if not connection.rate.allow():
                raise ProtocolError(
                    ErrorCode.RATE_LIMITED, "too many events; slow down"
                )
            return await handler(connection, data)
        except ProtocolError as error:
            return refuse(error.code, error.detail)
        except BackendUnavailable as error:
            return refuse(ErrorCode.BACKEND_UNAVAILABLE, str(error))
        except ValidationError as error:
            return refuse(ErrorCode.INVALID_MESSAGE, describe_validation_error(error))
        except Exception:
            logger.exception("socket.io handler failed", extra={"event": event})
            return refuse(ErrorCode.INTERNAL, "internal error")

    def _refusal(self, code: ErrorCode, detail: str) -> Ack:
        """The refusal of a subscribe or unsubscribe: ``{"ok": false, ...}``."""
        self.gateway.count_error(code)
        return {"ok": False, "error": code.value, "detail": detail}

    def _error_envelope(self, code: ErrorCode, detail: str) -> Ack:
        """A request's refusal: the ``error`` envelope plain WebSocket gets too."""
        self.gateway.count_error(code)
        return error_message(code, detail).envelope()

    def _refuse_connect(self, sid: str, error: ProtocolError) -> NoReturn:
        logger.info("socket.io refused", extra={"sid": sid, "code": error.code.value})
        self.gateway.count_error(error.code)
        raise socketio.exceptions.ConnectionRefusedError(
            error.code.value, {"code": error.code.value, "detail": error.detail}
        ) from None

    def cut_slow(self, connection: SocketIOConnection, queue: SlimQueue[Any]) -> None:
        """Drop a connection that cannot keep up; it reconnects and recovers."""
        dropped = queue.qsize()
        while not queue.empty():
            queue.get_nowait()
            queue.task_done()  # engine.io's close awaits queue.join()
        self.gateway.bus.detach(connection)
        metrics = self.gateway.metrics
        metrics.slow_disconnects.labels(SOCKETIO).inc()
        metrics.dropped.labels(SOCKETIO).inc(dropped + 1)
        logger.warning(
            "socket.io too slow; closing",
            extra={"sid": connection.sid, "dropped": dropped + 1},
        )
        self._spawn(self.close_transport(connection))

    async def close_transport(self, connection: SocketIOConnection) -> None:
        # Closing engine.io (not a Socket.IO DISCONNECT, after which clients
        # stay away) makes socket.io-client reconnect, with its offsets.
        eio_sid = self.server.manager.eio_sid_from_sid(connection.sid, self.namespace)
        if eio_sid is not None:
            await self.server.eio.disconnect(eio_sid)
        # engine.io would keep the WebSocket open until the client answers the
        # CLOSE packet, or for ping_interval + ping_timeout (45 s) if it never
        # does: end the socket's writer, which closes it once CLOSE is out.
        connection._socket.queue.put_nowait(None)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- connect and disconnect ------------------------------------------------

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any) -> bool:
        auth = auth if isinstance(auth, dict) else {}
        token = auth.get("token") or token_from_scope(
            environ.get("QUERY_STRING", "").encode("latin-1"),
            {"authorization": environ.get("HTTP_AUTHORIZATION", "")},
        )
        gateway = self.gateway
        try:
            gateway.check_capacity()
            identity = gateway.verifier.verify(token)
            if self.kind is ChannelKind.MONITOR:
                await gateway.authorize(identity, MONITOR)
        except ProtocolError as error:
            self._refuse_connect(sid, error)
        except BackendUnavailable as error:
            refusal = ProtocolError(ErrorCode.BACKEND_UNAVAILABLE, str(error))
            self._refuse_connect(sid, refusal)

        server = self.server
        eio_sid = server.manager.eio_sid_from_sid(sid, self.namespace)
        eio_socket = server.eio.sockets.get(eio_sid)
        if eio_socket is None:
            return False
        try:
            gateway.admit_user(identity.user_id)
        except ProtocolError as error:
            self._refuse_connect(sid, error)
        direct = DirectSocket.of(eio_socket)
        connection = SocketIOConnection(sid, self, identity, eio_socket, direct)
        self.connections[sid] = connection
        gateway.open_connections.add(connection)
        gateway.connected(SOCKETIO, self.namespace)
        logger.info(
            "socket.io connected",
            extra={
                "client": _client(environ),
                "sid": sid,
                "namespace": self.namespace,
                "user": identity.user_id,
            },
        )
        # The CONNECT packet goes out after this handler returns; anything sent
        # before it would reach the client on a namespace it has not joined.
        self._spawn(self._welcome(connection, auth))
        return True

    def _disconnect(self, sid: str, reason: object) -> None:
        connection = self.connections.pop(sid, None)
        if connection is None:
            return
        gateway = self.gateway
        gateway.bus.detach(connection)
        gateway.open_connections.discard(connection)
        gateway.release_user(connection.user_id)
        gateway.disconnected(SOCKETIO, self.namespace)
        logger.info(
            "socket.io disconnected",
            extra={"sid": sid, "namespace": self.namespace, "reason": str(reason)},
        )

    async def _welcome(
        self, connection: SocketIOConnection, auth: dict[str, Any]
    ) -> None:
        manager = self.server.manager
        for _ in range(100):
            if manager.is_connected(connection.sid, self.namespace):
                break
            await asyncio.sleep(0)
        if self.connections.get(connection.sid) is not connection:
            return
        bus = self.gateway.bus
        bus.attach(connection)
        try:
            if self.kind is ChannelKind.MONITOR:
                await self._join(connection, MONITOR, None, None, ACCEPT_ALL)
                connection.send(self.gateway.status_message())
            elif self.kind is ChannelKind.SYSTEM:
                since, epoch = _recovery_fields(auth)
                await self._join(connection, SYSTEM, since, epoch, ACCEPT_ALL)
            elif auth.get("id") is not None:
                ack = await self._subscribe(connection, auth)
                connection.send(
                    gateway_message("subscribed", ack, channel=ack["channel"])
                )
        except ProtocolError as error:
            connection.send(error_message(error.code, error.detail))
        except BackendUnavailable as error:
            connection.send(error_message(ErrorCode.BACKEND_UNAVAILABLE, str(error)))
        except ValidationError as error:
            connection.send(
                error_message(
                    ErrorCode.INVALID_MESSAGE, describe_validation_error(error)
                )
            )

    # -- events ----------------------------------------------------------------

    async def _join(
        self,
        connection: SocketIOConnection,
        channel: Channel,
        since: int | None,
        epoch: str | None,
        events: EventFilter,
    ) -> Ack:
        bus = self.gateway.bus
        join = await bus.join(
            connection, channel, since=since, epoch=epoch, events=events
        )
        bus.activate(join)
        return {
            "ok": True,
            "channel": channel.name,
            "offset": join.offset,
            "epoch": join.epoch,
            "recovered": join.recovered,
        }

    async def _subscribe(self, connection: SocketIOConnection, data: Any) -> Ack:
        request = _SubscribeRequest.model_validate(_object(data))
        channel = channel_of(self.kind, request.id)
        await self.gateway.authorize(connection.identity, channel)
        following = self.gateway.bus.channels_of(connection)
        limit = self.gateway.settings.max_subscriptions
        if channel.name not in following and len(following) >= limit:
            raise ProtocolError(
                ErrorCode.TOO_MANY_SUBSCRIPTIONS, f"at most {limit} channels"
            )
        events = EventFilter(request.events or ())
        return await self._join(
            connection, channel, request.since, request.epoch, events
        )

    async def _unsubscribe(self, connection: SocketIOConnection, data: Any) -> Ack:
        request = _IdRequest.model_validate(_object(data))
        channel = channel_of(self.kind, request.id)
        left = self.gateway.bus.leave(connection, channel)
        return {"ok": True, "channel": channel.name, "subscribed": False, "left": left}

    async def _ping(self, connection: SocketIOConnection, data: Any) -> Ack:
        return gateway_message("pong", {}).envelope()

    async def _get_status(self, connection: SocketIOConnection, data: Any) -> Ack:
        if self.kind in ID_KINDS:
            request = _IdRequest.model_validate(_object(data))
            channel = channel_of(self.kind, request.id)
        else:
            channel = Channel(self.kind)
        await self.gateway.authorize(connection.identity, channel)
        message = await self.gateway.state_message(channel)
        return message.envelope()

    async def _request_logs(self, connection: SocketIOConnection, data: Any) -> Ack:
        request = _LogsRequest.model_validate(_object(data))
        channel = channel_of(ChannelKind.EXECUTION, request.execution_id)
        assert channel.id is not None
        await self.gateway.authorize(connection.identity, channel)
        message = await self.gateway.logs_message(
            channel.id, request.since, request.limit
        )
        return message.envelope()

    async def _control_command(self, connection: SocketIOConnection, data: Any) -> Ack:
        request = _ControlRequest.model_validate(_object(data))
        channel = channel_of(ChannelKind.EXECUTION, request.execution_id)
        assert channel.id is not None
        message = await self.gateway.control_message(
            request.command, channel.id, connection.user_id
        )
        return message.envelope()


def _object(data: Any) -> dict[str, Any]:
    if isinstance(data, dict):
        return data
    if isinstance(data, (str, int)) and not isinstance(data, bool):
        return {"id": data}  # emit("subscribe", "42") is a common shorthand
    raise ProtocolError(ErrorCode.INVALID_MESSAGE, "the argument must be an object")


def _recovery_fields(auth: dict[str, Any]) -> tuple[int | None, str | None]:
    since, epoch = auth.get("since"), auth.get("epoch")
    if not isinstance(since, int) or isinstance(since, bool) or since < 0:
        return None, None
    return since, epoch if isinstance(epoch, str) else None


class _EngineServer(engineio.AsyncServer):  # type: ignore[misc]
    def create_queue(self, *args: Any, **kwargs: Any) -> SlimQueue[Any]:
        # Every socket's packet queue; most stay empty (see slim.py).
        return SlimQueue()


class GatewaySocketServer(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's server, its engine.io sockets run by DirectSocket."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.realtime_heartbeat = Heartbeat()

    async def stop_background(self) -> None:
        """Stop engine.io's service task and the heartbeat's timers."""
        await self.eio.shutdown()
        self.realtime_heartbeat.cancel()

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return _EngineServer

    async def _handle_eio_connect(self, eio_sid: str, environ: Any) -> Any:
        # Attached before engine.io starts the socket's WebSocket loop, which
        # is then DirectSocket's own (or, under the admin UI, engine.io's
        # writer waiting through DirectSocket.poll).
        eio_socket = self.eio.sockets.get(eio_sid)
        if eio_socket is not None:
            # The admin UI watches engine.io's own loops: leave them to it.
            admin = getattr(self, "realtime_admin", None) is not None
            heartbeat = None if admin else self.realtime_heartbeat
            sink = frame_sink(environ.get("asgi.scope"))
            DirectSocket.attach(eio_socket, sink, heartbeat)
        if environ.get("asgi.scope", {}).get("type") == "websocket":
            # The handshake's body reader (an object of a class engine.io
            # makes per request) is never read on a WebSocket; python-socketio
            # keeps the environ for the connection's life.
            environ.pop("wsgi.input", None)
        return await super()._handle_eio_connect(eio_sid, environ)


def create_server(gateway: Gateway) -> GatewaySocketServer:
    settings = gateway.settings
    server = GatewaySocketServer(
        async_mode="asgi",
        cors_allowed_origins=OriginPolicy(settings.cors_origins).for_engineio,
        max_http_buffer_size=settings.max_message_bytes,
        logger=False,
        engineio_logger=False,
    )
    for kind in (ChannelKind.MONITOR, ChannelKind.SYSTEM, *ID_KINDS):
        server.register_namespace(GatewayNamespace(kind, gateway))
    if settings.admin_username and settings.admin_password:
        # Stopped and undone when the app stops (see app.py): it patches
        # engine.io's socket class for the whole process.
        server.realtime_admin = server.instrument(
            auth={
                "username": settings.admin_username,
                "password": settings.admin_password.get_secret_value(),
            }
        )
        logger.info("socket.io admin UI instrumentation is on")
    return server
