# Channels and Django are not the project's dependencies: no stubs to check.
# mypy: disable-error-code="import-not-found,import-untyped"
"""Django Channels: a WebSocket consumer per client, ``group_send`` to a room.

Optional: it runs with Channels and Django brought in by ``uv run --with``, so
the project does not depend on them. The in-memory channel layer (Channels'
own, for one process) and uvicorn, like every other Python server here.
"""

from __future__ import annotations

import os
from typing import Any

import django
import orjson
import uvicorn
from django.conf import settings

from bench.peers.common import Rooms, answer, parse_port, uvicorn_options

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench",
    ALLOWED_HOSTS=["*"],
    INSTALLED_APPS=["channels"],
    CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
    USE_TZ=True,
)
django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

Scope = dict[str, Any]
Message = dict[str, Any]


class Follower(AsyncWebsocketConsumer):  # type: ignore[misc]
    async def connect(self) -> None:
        self.room = self.scope["url_route"]["kwargs"]["room"]
        await self.channel_layer.group_add(self.room, self.channel_name)
        await self.accept()
        await self.send(text_data=orjson.dumps({"type": "connection"}).decode())

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.room, self.channel_name)

    async def broadcast(self, event: Message) -> None:
        await self.send(text_data=event["text"])


rooms = Rooms()


async def _reply(send: Any, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def http_app(scope: Scope, receive: Any, send: Any) -> None:
    """``/health`` and ``/api/publish`` as bare ASGI: no Django view in the way."""
    if scope["path"] == "/health":
        # The pid of this interpreter, not of the ``uv run`` that started it:
        # the bench reads CPU and memory from it.
        await _reply(send, 200, orjson.dumps({"status": "healthy", "pid": os.getpid()}))
        return
    body = b""
    while True:
        event = await receive()
        body += event.get("body", b"")
        if not event.get("more_body"):
            break
    room, envelope = rooms.envelope(orjson.loads(body))
    layer = get_channel_layer()
    await layer.group_send(
        room, {"type": "broadcast", "text": orjson.dumps(envelope).decode()}
    )
    await _reply(send, 200, answer(envelope["channel"], envelope["offset"]))


application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": URLRouter([path("ws/execution/<str:room>", Follower.as_asgi())]),
    }
)


if __name__ == "__main__":
    options = uvicorn_options()
    options["lifespan"] = "off"  # Channels' router speaks no lifespan protocol
    uvicorn.run(application, host="127.0.0.1", port=parse_port(), **options)
