"""Per-connection, per-user and per-process limits, on both protocols."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio

from tests.support.clients import (
    SIOClient,
    new_id,
    sio_connect,
    ws_connect,
    ws_joined,
)
from tests.support.envelopes import assert_error
from tests.support.gateway import RunningGateway, running_gateway
from tests.support.scrape import eventually
from tests.support.tokens import SECRET, access_token

RATE = 5.0  # frames a second; bursts of up to twice that
BURST = int(2 * RATE)
FLOOD = 3 * BURST


async def _refill() -> None:
    """Long enough for the token bucket to hold a frame again."""
    await asyncio.sleep(2 / RATE)


async def _refused_sio(
    gateway: RunningGateway, namespace: str = "/execution", **options: Any
) -> list[Any]:
    """Connect a Socket.IO client that must be refused; its connect_error data."""
    client = SIOClient(namespace)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(gateway, transports=["websocket"], **options)
    await client.disconnect()
    return client.connect_errors


@contextlib.asynccontextmanager
async def _disconnect_watch(client: SIOClient) -> AsyncIterator[asyncio.Event]:
    gone = asyncio.Event()

    async def on_disconnect(*_: Any) -> None:
        gone.set()

    client.client.on("disconnect", on_disconnect, namespace=client.namespace)
    yield gone


# -- frame rate ------------------------------------------------------------------


async def test_websocket_flood_is_rate_limited_and_stays_open() -> None:
    """Frames past the rate get one rate_limited error; the connection lives on."""
    async with running_gateway(max_client_rate=RATE) as gateway:
        path = f"/ws/execution/{new_id()}"
        async with (
            ws_joined(gateway, path) as flooder,
            ws_joined(gateway, path) as calm,
        ):
            for _ in range(FLOOD):
                await flooder.send({"type": "ping"})
            pongs = 0
            while (message := await flooder.next())["type"] == "pong":
                pongs += 1
            assert_error(message, "rate_limited")
            assert BURST <= pongs < FLOOD

            await calm.send({"type": "ping"})
            await calm.next_of("pong")

            await _refill()
            await flooder.send({"type": "subscribe", "events": []})
            while (message := await flooder.next())["type"] == "pong":
                pongs += 1
            assert message["type"] == "subscribed"
            assert pongs < FLOOD


async def test_socketio_flood_is_acked_rate_limited_and_stays_connected() -> None:
    """Events past the rate are acked rate_limited; the client stays connected."""
    async with (
        running_gateway(max_client_rate=RATE) as gateway,
        sio_connect(gateway, "/execution") as flooder,
        sio_connect(gateway, "/execution") as calm,
    ):
        request = {"id": new_id()}
        acks = await asyncio.gather(
            *(flooder.call("subscribe", request) for _ in range(FLOOD))
        )
        refused = [ack for ack in acks if ack["ok"] is False]
        assert {ack["error"] for ack in refused} == {"rate_limited"}
        assert BURST <= FLOOD - len(refused) < FLOOD

        assert (await calm.call("ping"))["type"] == "pong"
        await _refill()
        assert flooder.client.connected
        assert (await flooder.call("ping"))["type"] == "pong"


# -- subscriptions per connection --------------------------------------------------


async def test_websocket_subscriptions_past_limit_are_refused() -> None:
    """Past REALTIME_MAX_SUBSCRIPTIONS a subscribe gets too_many_subscriptions."""
    async with running_gateway(max_subscriptions=3) as gateway:
        path = f"/ws/execution/{new_id()}"  # the path's channel is the first
        extra = new_id()
        async with ws_joined(gateway, path) as busy, ws_joined(gateway, path) as other:
            for _ in range(2):
                answer = await busy.ask(
                    {"type": "subscribe_execution", "executionId": new_id()}
                )
                assert answer["type"] == "subscribed"
            refused = await busy.ask(
                {"type": "subscribe_execution", "executionId": extra}
            )
            assert_error(refused, "too_many_subscriptions")
            assert (await busy.ask({"type": "ping"}))["type"] == "pong"

            answer = await other.ask(
                {"type": "subscribe_execution", "executionId": extra}
            )
            assert answer["type"] == "subscribed"


async def test_socketio_subscriptions_past_limit_are_refused() -> None:
    """Past REALTIME_MAX_SUBSCRIPTIONS a subscribe is acked too_many_subscriptions."""
    async with (
        running_gateway(max_subscriptions=3) as gateway,
        sio_connect(gateway, "/execution") as busy,
        sio_connect(gateway, "/execution") as other,
    ):
        ids = [new_id() for _ in range(4)]
        for channel_id in ids[:3]:
            assert (await busy.call("subscribe", {"id": channel_id}))["ok"] is True
        refused = await busy.call("subscribe", {"id": ids[3]})
        assert refused["ok"] is False
        assert refused["error"] == "too_many_subscriptions"
        again = await busy.call("subscribe", {"id": ids[0]})
        assert again["ok"] is True  # one it follows already is no new one

        assert (await other.call("subscribe", {"id": ids[3]}))["ok"] is True
        await busy.call("unsubscribe", {"id": ids[0]})
        assert (await busy.call("subscribe", {"id": ids[3]}))["ok"] is True


# -- connections per user ------------------------------------------------------------


async def test_websocket_connections_per_user_past_limit_close_4429() -> None:
    """A user's connection past the limit gets too_many_connections, then 4429."""
    async with running_gateway(
        jwt_secret=SECRET, max_connections_per_user=2
    ) as gateway:
        path = f"/ws/execution/{new_id()}"
        token = access_token("41")
        async with (
            ws_joined(gateway, path, token=token),
            ws_joined(gateway, path, token=token) as second,
        ):
            async with ws_connect(gateway, path, token=token) as third:
                assert_error(await third.next(), "too_many_connections")
                assert (await third.closed()).code == 4429
            async with ws_joined(gateway, path, token=access_token("42")) as other:
                assert (await other.ask({"type": "ping"}))["type"] == "pong"
            assert (await second.ask({"type": "ping"}))["type"] == "pong"
            await second.close()
            await eventually(lambda: gateway.gateway.users["41"] == 1)
            async with ws_joined(gateway, path, token=token) as later:
                assert (await later.ask({"type": "ping"}))["type"] == "pong"


async def test_socketio_connections_per_user_past_limit_are_refused() -> None:
    """A user's Socket.IO connect past the limit fails with too_many_connections."""
    async with running_gateway(
        jwt_secret=SECRET, max_connections_per_user=2
    ) as gateway:
        auth = {"token": access_token("43")}
        async with (
            sio_connect(gateway, "/execution", auth=auth),
            sio_connect(gateway, "/execution", auth=auth) as second,
        ):
            errors = await _refused_sio(gateway, auth=auth)
            assert [error["message"] for error in errors] == ["too_many_connections"]
            other_auth = {"token": access_token("44")}
            async with sio_connect(gateway, "/execution", auth=other_auth) as other:
                assert (await other.call("ping"))["type"] == "pong"
            assert (await second.call("ping"))["type"] == "pong"


# -- connections per process -----------------------------------------------------------


async def test_websocket_past_process_capacity_closes_1013() -> None:
    """Past REALTIME_MAX_CONNECTIONS a WebSocket gets an error, then 1013."""
    async with running_gateway(max_connections=2) as gateway:
        path = f"/ws/execution/{new_id()}"
        async with ws_joined(gateway, path) as first, ws_joined(gateway, path):
            async with ws_connect(gateway, path) as extra:
                assert_error(await extra.next(), "too_many_connections")
                assert (await extra.closed()).code == 1013
            assert (await first.ask({"type": "ping"}))["type"] == "pong"
        await eventually(lambda: gateway.gateway.connection_totals()["total"] == 0)
        async with ws_joined(gateway, path) as later:
            assert (await later.ask({"type": "ping"}))["type"] == "pong"


async def test_socketio_past_process_capacity_is_refused() -> None:
    """Past REALTIME_MAX_CONNECTIONS a Socket.IO connect fails."""
    async with (
        running_gateway(max_connections=2) as gateway,
        sio_connect(gateway, "/execution") as first,
        sio_connect(gateway, "/monitor"),
    ):
        errors = await _refused_sio(gateway)
        assert [error["message"] for error in errors] == ["too_many_connections"]
        assert (await first.call("ping"))["type"] == "pong"


# -- frame size on Socket.IO -----------------------------------------------------------


async def test_socketio_event_over_max_message_bytes_disconnects() -> None:
    """An event bigger than REALTIME_MAX_MESSAGE_BYTES gets its client disconnected."""
    async with (
        running_gateway(max_message_bytes=1024) as gateway,
        sio_connect(gateway, "/execution") as big,
        sio_connect(gateway, "/execution") as other,
        _disconnect_watch(big) as gone,
    ):
        await big.client.emit(
            "subscribe", {"id": new_id(), "pad": "x" * 4096}, namespace="/execution"
        )
        await asyncio.wait_for(gone.wait(), 5)
        assert (await other.call("subscribe", {"id": new_id()}))["ok"] is True
