"""Bare python-socketio: AsyncServer in FastAPI under uvicorn, ``sio.emit`` to a room.

The reference for the gateway's Socket.IO edge: the same libraries with none of
the gateway's bus, history or envelope handling.
"""

from __future__ import annotations

from typing import Any

import orjson
import socketio
import uvicorn
from fastapi import FastAPI, Request, Response

from bench.peers.common import Rooms, answer, parse_port, uvicorn_options

NAMESPACE = "/execution"


def create_app() -> Any:
    sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*")
    rooms = Rooms()

    @sio.on("subscribe", namespace=NAMESPACE)  # type: ignore[untyped-decorator]
    async def subscribe(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        room = str(data["id"])
        await sio.enter_room(sid, room, namespace=NAMESPACE)
        return {"ok": True, "channel": f"execution:{room}"}

    api = FastAPI()

    @api.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "healthy"}

    @api.post("/api/publish")
    async def publish(request: Request) -> Response:
        body = orjson.loads(await request.body())
        room, envelope = rooms.envelope(body)
        await sio.emit(envelope["type"], envelope, room=room, namespace=NAMESPACE)
        return Response(
            answer(envelope["channel"], envelope["offset"]),
            media_type="application/json",
        )

    return socketio.ASGIApp(sio, other_asgi_app=api)


if __name__ == "__main__":
    uvicorn.run(create_app(), host="127.0.0.1", port=parse_port(), **uvicorn_options())
