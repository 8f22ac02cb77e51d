"""An idle connection runs one task on the server, on either edge.

Ten thousand mostly idle connections are the common case, and a task with
its coroutine frames is most of what an idle connection would otherwise
cost. Both edges under the gateway's uvicorn set-up keep each connection to
uvicorn's own task (the ASGI application's): no writer while nothing waits,
no reader task per read, no task sleeping until the next ping.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from pathlib import Path

import websockets

from tests.support.clients import new_id, publish, ws_joined
from tests.support.gateway import RunningGateway, running_gateway
from tests.support.stalled import RawSocketIO

CONNECTIONS = 12

# Where the server's code lives, as opposed to the test's clients (websockets).
_SERVER_PACKAGES = (
    "uvicorn",
    "engineio",
    "socketio",
    "starlette",
    "fastapi",
    "realtime",
)


def _server_tasks() -> Counter[str]:
    tasks: Counter[str] = Counter()
    for task in asyncio.all_tasks():
        coro = task.get_coro()
        code = getattr(coro, "cr_code", None)
        if code is None:
            continue
        parts = Path(code.co_filename).parts
        if any(package in parts for package in _SERVER_PACKAGES):
            tasks[code.co_qualname] += 1
    return tasks


async def _settled(gateway: RunningGateway) -> Counter[str]:
    # Let handshakes, greetings and writers finish before counting. engine.io
    # starts its one service task, for all sockets, on the first connection.
    await asyncio.sleep(0.3)
    tasks = _server_tasks()
    del tasks["AsyncServer._service_task"]
    return tasks


async def test_an_idle_socketio_connection_runs_only_uvicorns_task() -> None:
    async with running_gateway() as gateway:
        before = await _settled(gateway)
        channel_id = new_id()
        clients = [
            await RawSocketIO.connect(gateway.url, "/execution", stalled=False)
            for _ in range(CONNECTIONS)
        ]
        try:
            for client in clients:
                assert (await client.call("subscribe", {"id": channel_id}))["ok"]
            await publish(gateway, f"execution:{channel_id}", "log_entry", {"n": 1})
            for client in clients:
                assert "log_entry" in await client.recv_packet()
            grown = await _settled(gateway) - before
            assert sum(grown.values()) == CONNECTIONS, grown
            assert set(grown) == {"WebSocketsSansIOProtocol.run_asgi"}, grown
        finally:
            for client in clients:
                await client.close()


async def test_an_idle_plain_websocket_connection_runs_only_uvicorns_task() -> None:
    async with running_gateway() as gateway:
        before = await _settled(gateway)
        channel_id = new_id()
        async with contextlib.AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(
                    ws_joined(gateway, f"/ws/execution/{channel_id}")
                )
                for _ in range(CONNECTIONS)
            ]
            await publish(gateway, f"execution:{channel_id}", "log_entry", {"n": 1})
            for client in clients:
                await client.next_of("log_entry")
            grown = await _settled(gateway) - before
            assert sum(grown.values()) == CONNECTIONS, grown
            assert set(grown) == {"WebSocketsSansIOProtocol.run_asgi"}, grown


async def test_a_closed_connection_leaves_no_task_behind() -> None:
    async with running_gateway() as gateway:
        before = await _settled(gateway)
        client = await RawSocketIO.connect(gateway.url, "/execution", stalled=False)
        await client.close()
        async with websockets.connect(gateway.ws_url + f"/ws/execution/{new_id()}"):
            pass
        assert not (await _settled(gateway) - before)


async def test_stopping_the_gateway_stops_engineios_service_task() -> None:
    async with running_gateway() as gateway:
        client = await RawSocketIO.connect(gateway.url, "/execution", stalled=False)
        await client.close()
        assert _server_tasks()["AsyncServer._service_task"] >= 1
    await asyncio.sleep(0.1)
    assert not _server_tasks()["AsyncServer._service_task"]
