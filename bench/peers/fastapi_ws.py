"""Native FastAPI WebSockets: a dict of rooms, ``await ws.send_text`` to each member.

The reference for the gateway's plain WebSocket edge: what one writes in an
afternoon with FastAPI alone, no queues and no writer tasks.
"""

from __future__ import annotations

import contextlib

import orjson
import uvicorn
from fastapi import FastAPI, Request, Response, WebSocket, WebSocketDisconnect

from bench.peers.common import Rooms, answer, parse_port, uvicorn_options


def create_app() -> FastAPI:
    api = FastAPI()
    members: dict[str, set[WebSocket]] = {}
    rooms = Rooms()

    @api.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "healthy"}

    @api.websocket("/ws/execution/{room}")
    async def follow(websocket: WebSocket, room: str) -> None:
        await websocket.accept()
        followers = members.setdefault(room, set())
        followers.add(websocket)
        try:
            await websocket.send_text(
                orjson.dumps({"type": "connection", "channel": room}).decode()
            )
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            followers.discard(websocket)

    @api.post("/api/publish")
    async def publish(request: Request) -> Response:
        body = orjson.loads(await request.body())
        room, envelope = rooms.envelope(body)
        text = orjson.dumps(envelope).decode()
        for websocket in list(members.get(room, ())):
            # One slow or dead member must not stop the others' fan-out.
            with contextlib.suppress(Exception):
                await websocket.send_text(text)
        return Response(
            answer(envelope["channel"], envelope["offset"]),
            media_type="application/json",
        )

    return api


if __name__ == "__main__":
    uvicorn.run(create_app(), host="127.0.0.1", port=parse_port(), **uvicorn_options())
