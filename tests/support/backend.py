"""A tiny real HTTP app standing in for the platform's backend.

It serves on 127.0.0.1, on a port of its own, under uvicorn; it records every
request and answers each with what ``answer`` returns for it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn

TIMEOUT = 10.0


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the parsed JSON, or the raw bytes when it is not JSON


Answer = Callable[[Request], tuple[int, Any]]


def _ok(request: Request) -> tuple[int, Any]:
    return 200, {"ok": True}


@dataclass
class TinyBackend:
    answer: Answer = _ok
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http", scope["type"]
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        try:
            parsed: Any = orjson.loads(body)
        except orjson.JSONDecodeError:
            parsed = body
        request = Request(
            scope["method"],
            scope["path"],
            {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
            parsed,
        )
        self.requests.append(request)
        self._arrived.set()
        status, payload = self.answer(request)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": orjson.dumps(payload)})

    async def wait_for(self, count: int, timeout: float = TIMEOUT) -> None:
        """Until ``count`` requests have arrived."""

        async def enough() -> None:
            while len(self.requests) < count:
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(enough(), timeout)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def tiny_backend(answer: Answer = _ok) -> AsyncIterator[TinyBackend]:
    """Serve a :class:`TinyBackend` on a free loopback port until the block ends."""
    backend = TinyBackend(answer)
    config = uvicorn.Config(
        backend,
        host="127.0.0.1",
        port=0,
        lifespan="off",
        log_config=None,
        access_log=False,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(), name="tiny-backend")
    try:
        async with asyncio.timeout(TIMEOUT):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("the tiny backend stopped before it started")
                await asyncio.sleep(0.005)
        backend.port = server.servers[0].sockets[0].getsockname()[1]
        yield backend
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=TIMEOUT)
