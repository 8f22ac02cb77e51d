"""Only listed pages, the gateway's own origin and non-browser clients connect."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import socketio
import websockets

from tests.support.clients import SIOClient, new_id, sio_connect, ws_connect
from tests.support.gateway import RunningGateway, running_gateway

LISTED = "http://app.example.com"
FOREIGN = "http://evil.example.net"


@pytest.fixture(scope="module")
async def listing() -> AsyncIterator[RunningGateway]:
    """A gateway whose origin allow-list holds LISTED only."""
    async with running_gateway(cors_origins=[LISTED]) as served:
        yield served


async def test_websocket_with_foreign_origin_is_refused_403(
    listing: RunningGateway,
) -> None:
    """A page from an unlisted origin is refused in the handshake with HTTP 403."""
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with ws_connect(
            listing, f"/ws/execution/{new_id()}", headers={"Origin": FOREIGN}
        ):
            pass
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("origin", ["listed", "same", "none"])
async def test_websocket_with_listed_same_or_no_origin_is_accepted(
    listing: RunningGateway, origin: str
) -> None:
    """A listed origin, the gateway's own origin and no Origin at all connect."""
    headers = {
        "listed": {"Origin": LISTED},
        "same": {"Origin": listing.url},
        "none": None,
    }[origin]
    async with ws_connect(
        listing, f"/ws/execution/{new_id()}", headers=headers
    ) as client:
        assert (await client.next_of("connection"))["data"]["status"] == "healthy"


async def test_socketio_with_foreign_origin_fails_to_connect(
    listing: RunningGateway,
) -> None:
    """A Socket.IO client sending a foreign Origin cannot connect."""
    client = SIOClient("/execution")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            listing, transports=["websocket"], headers={"Origin": FOREIGN}
        )
    assert not client.client.connected
    await client.disconnect()


async def test_socketio_with_listed_origin_connects(listing: RunningGateway) -> None:
    """A Socket.IO client from a listed origin connects and is served."""
    async with sio_connect(listing, "/execution", headers={"Origin": LISTED}) as sio:
        assert (await sio.call("subscribe", {"id": new_id()}))["ok"] is True
