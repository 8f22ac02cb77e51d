"""GET /health on a gateway of its own, so the counts are exact."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from realtime import __version__
from tests.support.clients import new_id, sio_connect, ws_connect, ws_joined
from tests.support.gateway import RunningGateway, running_gateway


@pytest.fixture(scope="module")
async def lone_gateway() -> AsyncIterator[RunningGateway]:
    async with running_gateway() as served:
        yield served


async def _health(gateway: RunningGateway) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        return await http.get("/health")


async def _eventually(
    gateway: RunningGateway, check: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """/health until ``check`` holds (no event says a disconnect was counted)."""
    async with asyncio.timeout(5):
        while True:
            body: dict[str, Any] = (await _health(gateway)).json()
            if check(body):
                return body
            await asyncio.sleep(0.02)


async def test_health_is_200_healthy_with_the_services_facts(
    lone_gateway: RunningGateway,
) -> None:
    """status, service, version, backend memory and connection counts."""
    response = await _health(lone_gateway)
    assert response.status_code == 200
    assert response.json() == {
        "status": "healthy",
        "service": "realtime",
        "version": __version__,
        "backend": "memory",
        "connections": {"socketio": 0, "websocket": 0, "total": 0},
    }


async def test_health_counts_connections_by_transport(
    lone_gateway: RunningGateway,
) -> None:
    """Open connections are counted per protocol and in total."""
    async with (
        ws_joined(lone_gateway, f"/ws/execution/{new_id()}"),
        ws_joined(lone_gateway, "/ws/system"),
        sio_connect(lone_gateway, "/system"),
    ):
        body = (await _health(lone_gateway)).json()
    assert body["connections"] == {"socketio": 1, "websocket": 2, "total": 3}


async def test_health_forgets_closed_connections(
    lone_gateway: RunningGateway,
) -> None:
    """After the clients leave, the counts fall back to zero."""
    async with (
        ws_joined(lone_gateway, "/ws/monitor"),
        sio_connect(lone_gateway, "/monitor"),
    ):
        pass
    body = await _eventually(
        lone_gateway, lambda body: body["connections"]["total"] == 0
    )
    assert body["connections"] == {"socketio": 0, "websocket": 0, "total": 0}


async def test_health_counts_refused_connections_out(
    lone_gateway: RunningGateway,
) -> None:
    """A path refused with 4400 leaves no connection counted."""
    async with ws_joined(lone_gateway, "/ws/system"):
        pass
    async with ws_connect(lone_gateway, "/ws/execution/a.b") as client:
        await client.next_of("error")
        await client.closed()
    body = await _eventually(
        lone_gateway, lambda body: body["connections"]["total"] == 0
    )
    assert body["connections"]["websocket"] == 0
