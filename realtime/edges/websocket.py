"""The plain WebSocket edge: the platform's JSON protocol on ``/ws/...``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from realtime.auth import ANONYMOUS, Identity, token_from_scope
from realtime.bus.backend import BackendUnavailable
from realtime.edges.fastpath import frame_sink, text_frame
from realtime.edges.limits import RateLimit
from realtime.edges.outbox import CloseFrame, Outbox
from realtime.gateway import WEBSOCKET, Gateway
from realtime.origins import OriginPolicy
from realtime.protocol import client as msg
from realtime.protocol.channels import (
    MONITOR,
    SYSTEM,
    Channel,
    ChannelKind,
    channel_of,
    parse_channel,
)
from realtime.protocol.envelope import Message, error_message, gateway_message
from realtime.protocol.errors import CloseCode, ErrorCode, ProtocolError
from realtime.protocol.filters import ACCEPT_ALL, EventFilter

logger = logging.getLogger(__name__)

_PREFIX = "/ws/"

# Seconds a client cut for slowness has to read its close frame before the
# connection is dropped.
_SLOW_GRACE = 5.0

# What an unauthenticated connection may still say while it has time to log in.
_BEFORE_AUTH = (msg.Ping, msg.Auth)


class WebSocketConnection:
    """One plain WebSocket client; a :class:`~realtime.bus.subscription.Subscriber`."""

    def __init__(
        self, websocket: WebSocket, gateway: Gateway, channel: Channel
    ) -> None:
        settings = gateway.settings
        self.websocket = websocket
        self.gateway = gateway
        self.channel = channel
        self.identity: Identity | None = None
        self.events = ACCEPT_ALL
        self.outbox = Outbox(
            settings.max_queue_messages,
            settings.max_queue_bytes,
            overflow_code=CloseCode.TOO_SLOW,
        )
        self.client = _peer(websocket)
        self._since: int | None = None
        self._epoch: str | None = None
        self._bad_since = False
        self._rate = RateLimit(settings.max_client_rate)
        self._rate_warned_at = 0.0
        self._admitted: str | None = None
        self._writer: asyncio.Task[None] | None = None
        # The writer holds a frame it has not handed to the transport yet.
        self._writing = False
        self._sink = frame_sink(websocket.scope)

    @property
    def user_id(self) -> str | None:
        return self.identity.user_id if self.identity else None

    # -- Subscriber -----------------------------------------------------------

    def send(self, message: Message) -> None:
        if self._write_directly(message) or self._queue(message.json):
            return
        closing = self.outbox.closing
        if closing is not None and closing.code == CloseCode.TOO_SLOW:
            # Cut loose now so the bus stops offering it more.
            self.gateway.bus.detach(self)
            metrics = self.gateway.metrics
            metrics.slow_disconnects.labels(WEBSOCKET).inc()
            metrics.dropped.labels(WEBSOCKET).inc(self.outbox.dropped + 1)
            logger.warning(
                "websocket too slow; closing",
                extra={"client": self.client, "dropped": self.outbox.dropped + 1},
            )
            if self._sink is not None:
                # A client that stopped reading never takes the close frame.
                asyncio.get_running_loop().call_later(_SLOW_GRACE, self._sink.abort)

    def _write_directly(self, message: Message) -> bool:
        """Hand the message's prebuilt frame to the transport, if order allows.

        Only while nothing waits in the outbox and the transport is not
        pushing back; otherwise the frame would overtake queued ones.
        """
        sink = self._sink
        if sink is None or self._writing or not sink.open or self.outbox.waiting:
            return False
        if self.outbox.closing is not None:
            return True  # closing: nothing more goes out
        sink.write(message.encoded("ws-frame", _frame))
        return True

    def _queue(self, frame: str) -> bool:
        queued = self.outbox.put(frame)
        self._ensure_writer()
        return queued

    def _ensure_writer(self) -> None:
        # Started on first need: a connection whose frames all go straight
        # to the transport needs no task of its own.
        if self._writer is None:
            self._writer = asyncio.create_task(
                self._write(), name=f"ws-writer {self.client}"
            )

    async def drain(self) -> None:
        """Send what is queued, then close 1012 so the client reconnects elsewhere."""
        self._close(CloseCode.SERVICE_RESTART, "server restarting")
        if self._writer is None:
            return
        try:
            await asyncio.shield(self._writer)
        except asyncio.CancelledError:
            # Out of drain time: a client that stopped reading never takes its
            # close frame; drop it, so uvicorn's shutdown need not wait for it.
            if self._sink is not None:
                self._sink.abort()
            raise

    # -- lifecycle ------------------------------------------------------------

    async def run(self) -> None:
        self.gateway.open_connections.add(self)
        try:
            await self._converse()
        except WebSocketDisconnect:
            pass
        except BackendUnavailable as error:
            logger.warning("websocket closed: %s", error, extra={"client": self.client})
            self._error(ErrorCode.BACKEND_UNAVAILABLE, str(error))
            self._close(CloseCode.TRY_AGAIN_LATER, ErrorCode.BACKEND_UNAVAILABLE)
        finally:
            self.gateway.open_connections.discard(self)
            self.gateway.bus.detach(self)
            self.gateway.release_user(self._admitted)
            if self.outbox.closing is None:
                self._close(CloseCode.NORMAL, "")
            writer = self._writer
            assert writer is not None
            with contextlib.suppress(asyncio.TimeoutError, WebSocketDisconnect):
                await asyncio.wait_for(writer, timeout=5)
            writer.cancel()

    async def _write(self) -> None:
        websocket = self.websocket
        try:
            while True:
                frame = await self.outbox.get()
                self._writing = True
                if isinstance(frame, CloseFrame):
                    if websocket.client_state is WebSocketState.CONNECTED:
                        await websocket.close(frame.code, frame.reason)
                    return
                await websocket.send_text(frame)
                self._writing = False
        except (WebSocketDisconnect, RuntimeError, OSError):
            # The peer went away mid-send; the reader sees the disconnect.
            return

    def _say(self, message: Message) -> None:
        if not self._write_directly(message):
            self._queue(message.json)

    def _error(self, code: ErrorCode, detail: str) -> None:
        self.gateway.count_error(code)
        self._say(error_message(code, detail, channel=self.channel.name))

    def _close(self, code: CloseCode, reason: str) -> None:
        self.outbox.close(code, reason)
        self._ensure_writer()

    # -- the conversation -----------------------------------------------------

    async def _converse(self) -> None:
        gateway = self.gateway
        scope = self.websocket.scope
        token = token_from_scope(scope.get("query_string", b""), self.websocket.headers)
        since, epoch = self._since, self._epoch = self._recovery_request()

        if not gateway.verifier.required:
            self.identity = ANONYMOUS
        elif token is not None:
            try:
                self.identity = gateway.verifier.verify(token)
            except ProtocolError as error:
                self._refuse(error)
                return
        if self.identity is not None and not await self._admit(self.identity):
            return

        if self.identity is None:
            self._greet(self._connection_message(None, None))
            await self._await_auth()
            if self.identity is None:
                return
        else:
            await self._enter(since, epoch, greet=True)
        logger.info(
            "websocket connected",
            extra={
                "client": self.client,
                "channel": self.channel.name,
                "user": self.user_id,
            },
        )
        await self._serve()

    def _recovery_request(self) -> tuple[int | None, str | None]:
        params = self.websocket.query_params
        raw_since, epoch = params.get("since"), params.get("epoch")
        if raw_since is None:
            return None, None
        if not raw_since.isdigit() or len(raw_since) > 18:
            # Said after the greeting, which always comes first.
            self._bad_since = True
            return None, None
        return int(raw_since), epoch or None

    def _greet(self, message: Message) -> None:
        self._say(message)
        if self._bad_since:
            self._bad_since = False
            self._error(ErrorCode.INVALID_MESSAGE, "since: a non-negative integer")

    def _refuse(
        self, error: ProtocolError, close: CloseCode = CloseCode.UNAUTHORIZED
    ) -> None:
        logger.info(
            "websocket refused",
            extra={"client": self.client, "code": error.code},
        )
        self._error(error.code, error.detail)
        self._close(close, error.code)

    async def _admit(self, identity: Identity) -> bool:
        """Count the user's connection and check the path's channel is theirs."""
        try:
            self.gateway.admit_user(identity.user_id)
        except ProtocolError as error:
            self._refuse(error, CloseCode.TOO_MANY_CONNECTIONS)
            return False
        self._admitted = identity.user_id
        try:
            await self.gateway.authorize(identity, self.channel)
        except ProtocolError as error:
            self._refuse(error, CloseCode.FORBIDDEN)
            return False
        return True

    def _allowed_now(self) -> bool:
        """Whether the client is within its frame rate; warns once a second if not."""
        if self._rate.allow():
            return True
        now = time.monotonic()
        if now - self._rate_warned_at >= 1:
            self._rate_warned_at = now
            self._error(ErrorCode.RATE_LIMITED, "too many messages; slow down")
        return False

    async def _await_auth(self) -> None:
        deadline = time.monotonic() + self.gateway.settings.auth_timeout
        while self.identity is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._error(ErrorCode.UNAUTHORIZED, "no token within the time allowed")
                self._close(CloseCode.UNAUTHORIZED, "auth timeout")
                return
            try:
                frame = await asyncio.wait_for(self._receive(), timeout=remaining)
            except TimeoutError:
                continue
            if not self._allowed_now():
                continue
            parsed = self._parse(frame)
            if parsed is None:
                continue
            if not isinstance(parsed, _BEFORE_AUTH):
                self._error(ErrorCode.UNAUTHORIZED, "authenticate first")
                continue
            if isinstance(parsed, msg.Ping):
                self._say(gateway_message("pong", {}, channel=self.channel.name))
                continue
            try:
                identity = self.gateway.verifier.verify(parsed.token)
            except ProtocolError as error:
                self._refuse(error)
                return
            if not await self._admit(identity):
                return
            self.identity = identity
            await self._enter(self._since, self._epoch, greet=False)

    async def _receive(self) -> str | bytes:
        """The next frame; a frame too big queues a close and ends the reading."""
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        frame: str | bytes = message.get("text") or message.get("bytes") or b""
        limit = self.gateway.settings.max_message_bytes
        size = len(frame)
        if size > limit or (
            isinstance(frame, str) and 4 * size > limit and len(frame.encode()) > limit
        ):
            self._close(CloseCode.MESSAGE_TOO_BIG, "frame too big")
            raise WebSocketDisconnect(CloseCode.MESSAGE_TOO_BIG)
        return frame

    def _parse(self, frame: str | bytes) -> msg.ClientMessage | None:
        try:
            return msg.parse_frame(frame)
        except ProtocolError as error:
            logger.debug("bad frame: %s", error.detail, extra={"client": self.client})
            self._error(error.code, error.detail)
            return None

    async def _enter(
        self, since: int | None, epoch: str | None, *, greet: bool
    ) -> None:
        """Follow the path's channel: greet, catch up, then go live."""
        bus = self.gateway.bus
        join = await bus.join(self, self.channel, since=since, epoch=epoch)
        if greet:
            self._greet(self._connection_message(join.offset, join.epoch))
        else:
            # Authenticated late: this is where the client learns the position.
            self._say(self._authenticated_message(join.offset, join.epoch))
        bus.attach(self)
        if self.channel == MONITOR:
            self._say(self.gateway.status_message())

        def report_recovery() -> None:
            if join.recovered is not None:
                self._say(
                    gateway_message(
                        "recovery",
                        {
                            "recovered": join.recovered,
                            "offset": join.offset,
                            "epoch": join.epoch,
                        },
                        channel=self.channel.name,
                    )
                )

        bus.activate(join, report_recovery)

    def _connection_message(self, offset: int | None, epoch: str | None) -> Message:
        identity = self.identity or ANONYMOUS
        data: dict[str, Any] = {
            "status": "healthy",
            "channel": self.channel.name,
            "authenticated": identity.authenticated,
            "user_id": identity.user_id,
            "epoch": epoch,
            "offset": offset,
        }
        if self.channel.id is not None:
            data[f"{self.channel.kind.value}_id"] = self.channel.id
        return gateway_message(
            "connection",
            data,
            channel=self.channel.name,
            message=f"connected to {self.channel.name}",
        )

    def _authenticated_message(
        self, offset: int | None = None, epoch: str | None = None
    ) -> Message:
        identity = self.identity or ANONYMOUS
        data: dict[str, Any] = {
            "authenticated": identity.authenticated,
            "user_id": identity.user_id,
            "channel": self.channel.name,
        }
        if epoch is not None:
            data.update(epoch=epoch, offset=offset)
        return gateway_message("authenticated", data, channel=self.channel.name)

    async def _serve(self) -> None:
        while self.outbox.closing is None:
            frame = await self._receive()
            if not self._allowed_now():
                continue
            parsed = self._parse(frame)
            if parsed is None:
                continue
            try:
                await self._handle(parsed)
            except BackendUnavailable as error:
                # One answer fails; the connection and its live feed go on.
                self._error(ErrorCode.BACKEND_UNAVAILABLE, str(error))

    async def _handle(self, parsed: msg.ClientMessage) -> None:
        gateway = self.gateway
        here = self.channel.name
        logger.debug(
            "received %s", type(parsed).__name__, extra={"client": self.client}
        )
        match parsed:
            case msg.Ping():
                self._say(gateway_message("pong", {}, channel=here))
            case msg.Auth(token=token):
                try:
                    identity = gateway.verifier.verify(token)
                except ProtocolError as error:
                    self._refuse(error)
                    return
                if identity.user_id != self.user_id:
                    self._refuse(
                        ProtocolError(
                            ErrorCode.UNAUTHORIZED, "a connection cannot change user"
                        )
                    )
                    return
                self._say(self._authenticated_message())
            case msg.Subscribe(events=events):
                self.events = EventFilter(events) if events else ACCEPT_ALL
                self._say(
                    gateway_message(
                        "subscribed",
                        {"channel": here, "events": list(self.events.events)},
                        channel=here,
                    )
                )
            case msg.GetStatus(channel=name):
                await self._get_status(name)
            case msg.SubscribeExecution(type=kind, execution_id=execution_id):
                channel = Channel(ChannelKind.EXECUTION, execution_id)
                await self._follow(channel, follow=kind == "subscribe_execution")
            case msg.SubscribeChannel(type=kind, channel=name):
                try:
                    channel = parse_channel(name)
                except ProtocolError as error:
                    self._error(error.code, error.detail)
                    return
                await self._follow(channel, follow=kind == "subscribe_channel")
            case msg.ControlCommand(command=command, execution_id=execution_id):
                self._say(
                    await gateway.control_message(command, execution_id, self.user_id)
                )
            case msg.RequestLogs(execution_id=execution_id, since=since, limit=limit):
                channel = Channel(ChannelKind.EXECUTION, execution_id)
                try:
                    await gateway.authorize(self.identity or ANONYMOUS, channel)
                except ProtocolError as error:
                    self._error(error.code, error.detail)
                    return
                self._say(await gateway.logs_message(execution_id, since, limit))

    async def _get_status(self, name: str | None) -> None:
        if name is None:
            channel = self.channel
        else:
            try:
                channel = parse_channel(name)
            except ProtocolError as error:
                self._error(error.code, error.detail)
                return
            try:
                await self.gateway.authorize(self.identity or ANONYMOUS, channel)
            except ProtocolError as error:
                self._error(error.code, error.detail)
                return
        self._say(await self.gateway.state_message(channel))

    async def _follow(self, channel: Channel, *, follow: bool) -> None:
        bus = self.gateway.bus
        name = channel.name
        if not follow:
            bus.leave(self, channel)
            self._say(gateway_message("unsubscribed", {"channel": name}, channel=name))
            return
        try:
            await self.gateway.authorize(self.identity or ANONYMOUS, channel)
        except ProtocolError as error:
            self._error(error.code, error.detail)
            return
        subscribed = gateway_message("subscribed", {"channel": name}, channel=name)
        # system and the user's own channel reach this connection already.
        automatic = channel == SYSTEM or channel.kind is ChannelKind.USER
        following = bus.channels_of(self)
        if automatic or name in following:
            self._say(subscribed)
            return
        if len(following) >= self.gateway.settings.max_subscriptions:
            self._error(
                ErrorCode.TOO_MANY_SUBSCRIPTIONS,
                f"at most {self.gateway.settings.max_subscriptions} channels",
            )
            return
        join = await bus.join(self, channel)
        self._say(subscribed)
        bus.activate(join)


def _peer(websocket: WebSocket) -> str:
    client = websocket.client
    return f"{client.host}:{client.port}" if client else "unknown"


async def serve(
    websocket: WebSocket,
    gateway: Gateway,
    origins: OriginPolicy,
    kind: ChannelKind,
    channel_id: str | None,
) -> None:
    """One plain WebSocket connection on a /ws/ path, from handshake to close."""
    if not origins.allows(
        websocket.headers.get("origin"), websocket.headers.get("host")
    ):
        # Refused in the handshake (HTTP 403): a page from elsewhere learns nothing.
        logger.info("websocket origin refused", extra={"client": _peer(websocket)})
        gateway.count_error(ErrorCode.FORBIDDEN)
        await websocket.close(CloseCode.FORBIDDEN)
        return
    await websocket.accept()
    try:
        channel = channel_of(kind, channel_id)
        gateway.check_capacity()
    except ProtocolError as error:
        gateway.count_error(error.code)
        close = (
            CloseCode.INVALID_CHANNEL
            if error.code is ErrorCode.INVALID_CHANNEL
            else CloseCode.TRY_AGAIN_LATER
        )
        await websocket.send_text(error_message(error.code, error.detail).json)
        await websocket.close(close, error.code)
        return
    connection = WebSocketConnection(websocket, gateway, channel)
    gateway.connected(WEBSOCKET, channel.namespace)
    try:
        await connection.run()
    finally:
        gateway.disconnected(WEBSOCKET, channel.namespace)
        logger.info(
            "websocket disconnected",
            extra={
                "client": connection.client,
                "channel": channel.name,
                "user": connection.user_id,
            },
        )


def route(path: str) -> tuple[ChannelKind, str | None] | None:
    """The channel kind and raw id a ``/ws/...`` path names, or None if it names none.

    The id is left unchecked (it may be empty or hold a slash): a path of a known
    kind with a bad id is answered with ``invalid_channel`` and close 4400.
    """
    if not path.startswith(_PREFIX):
        return None
    kind_name, sep, channel_id = path[len(_PREFIX) :].partition("/")
    try:
        kind = ChannelKind(kind_name)
    except ValueError:
        return None
    if kind is ChannelKind.USER:
        return None  # user channels reach a user's connections; no path follows one
    if not kind.has_id:
        return (kind, None) if not sep and not channel_id else None
    return kind, channel_id


class WebSocketEdge:
    """The ASGI app in front of the HTTP one, taking ``/ws/...`` connections itself.

    Routed here rather than through FastAPI, a connection carries no router,
    middleware or exception-handler frames for its whole life: several KiB
    less per connection, which is what holding many of them costs.
    """

    def __init__(self, gateway: Gateway, origins: OriginPolicy, app: ASGIApp) -> None:
        self.gateway = gateway
        self.origins = origins
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = route(scope["path"]) if scope["type"] == "websocket" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        kind, channel_id = found
        websocket = WebSocket(scope, receive, send)
        await serve(websocket, self.gateway, self.origins, kind, channel_id)


def _frame(message: Message) -> bytes:
    return text_frame(message.json)
