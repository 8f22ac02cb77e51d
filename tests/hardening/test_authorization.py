"""Who may follow which channel: the token's claim, user channels, the platform."""

from __future__ import annotations

import asyncio

from tests.support.backend import Request, tiny_backend
from tests.support.clients import new_id, sio_connect, ws_connect, ws_joined
from tests.support.envelopes import assert_error
from tests.support.gateway import running_gateway
from tests.support.processes import free_port
from tests.support.tokens import API_KEY, SECRET, access_token

SECURE = {"jwt_secret": SECRET, "api_key": API_KEY}


def _scoped_token(user_id: str = "7") -> str:
    return access_token(user_id, channels=["execution:mine-*", "project:12"])


# -- the token's channels claim ------------------------------------------------------


async def test_websocket_path_outside_channels_claim_closes_4403() -> None:
    """A path the token's channels claim does not cover: forbidden, then 4403."""
    async with running_gateway(**SECURE) as gateway:
        path = f"/ws/execution/theirs-{new_id()}"
        async with ws_connect(gateway, path, token=_scoped_token()) as client:
            assert_error(await client.next(), "forbidden")
            assert (await client.closed()).code == 4403


async def test_websocket_path_inside_channels_claim_is_served() -> None:
    """A path the claim's pattern covers is greeted as usual."""
    async with running_gateway(**SECURE) as gateway:
        path = f"/ws/execution/mine-{new_id()}"
        async with ws_joined(gateway, path, token=_scoped_token()) as client:
            assert (await client.ask({"type": "ping"}))["type"] == "pong"


async def test_websocket_subscribe_outside_claim_is_forbidden_and_stays_open() -> None:
    """subscribe_execution outside the claim gets forbidden; the socket stays."""
    async with running_gateway(**SECURE) as gateway:
        path = f"/ws/execution/mine-{new_id()}"
        async with ws_joined(gateway, path, token=_scoped_token()) as client:
            refused = await client.ask(
                {"type": "subscribe_execution", "executionId": "theirs-1"}
            )
            assert_error(refused, "forbidden")
            assert (await client.ask({"type": "ping"}))["type"] == "pong"
            allowed = await client.ask(
                {"type": "subscribe_execution", "executionId": f"mine-{new_id()}"}
            )
            assert allowed["type"] == "subscribed"
            project = await client.ask(
                {"type": "subscribe_channel", "channel": "project:12"}
            )
            assert project["type"] == "subscribed"


async def test_socketio_subscribe_outside_claim_is_acked_forbidden() -> None:
    """On Socket.IO the ack says forbidden outside the claim and ok inside it."""
    async with (
        running_gateway(**SECURE) as gateway,
        sio_connect(gateway, "/execution", auth={"token": _scoped_token()}) as client,
    ):
        refused = await client.call("subscribe", {"id": "theirs-1"})
        assert refused["ok"] is False
        assert refused["error"] == "forbidden"
        allowed = await client.call("subscribe", {"id": f"mine-{new_id()}"})
        assert allowed["ok"] is True


async def test_user_channel_is_readable_only_by_its_user() -> None:
    """subscribe_channel user:other is forbidden; user:self is subscribed."""
    async with running_gateway(**SECURE) as gateway:
        path = f"/ws/execution/{new_id()}"
        async with ws_joined(gateway, path, token=access_token("7")) as client:
            refused = await client.ask(
                {"type": "subscribe_channel", "channel": "user:8"}
            )
            assert_error(refused, "forbidden")
            own = await client.ask({"type": "subscribe_channel", "channel": "user:7"})
            assert own["type"] == "subscribed"
            assert own["data"]["channel"] == "user:7"


# -- the platform's answer (REALTIME_AUTHZ_URL) ---------------------------------------


def _verdict(request: Request) -> tuple[int, object]:
    """Allow channels ending in -ok, refuse -no with allow false, 403 for -403."""
    channel = request.body["channel"]
    if channel.endswith("-ok"):
        return 200, {"allow": True}
    if channel.endswith("-no"):
        return 200, {"allow": False}
    return 403, {"detail": "no"}


async def test_authz_url_allows_and_is_asked_with_user_and_channel() -> None:
    """A 2xx answer allows; the POST carries user_id, channel and the API key."""
    async with tiny_backend(_verdict) as platform:
        async with running_gateway(**SECURE, authz_url=f"{platform.url}/authz") as gw:
            channel_id = f"{new_id()}-ok"
            path = f"/ws/execution/{channel_id}"
            async with ws_joined(gw, path, token=access_token("7")) as client:
                assert (await client.ask({"type": "ping"}))["type"] == "pong"
        [request] = platform.requests
        assert (request.method, request.path) == ("POST", "/authz")
        assert request.body == {"user_id": "7", "channel": f"execution:{channel_id}"}
        assert request.headers["authorization"] == f"Bearer {API_KEY}"


async def test_authz_url_allow_false_refuses_on_both_protocols() -> None:
    """{"allow": false} closes a WebSocket 4403 and acks a subscribe forbidden."""
    async with tiny_backend(_verdict) as platform:
        async with running_gateway(**SECURE, authz_url=f"{platform.url}/authz") as gw:
            token = access_token("7")
            path = f"/ws/execution/{new_id()}-no"
            async with ws_connect(gw, path, token=token) as client:
                assert_error(await client.next(), "forbidden")
                assert (await client.closed()).code == 4403
            async with sio_connect(gw, "/execution", auth={"token": token}) as sio:
                ack = await sio.call("subscribe", {"id": f"{new_id()}-no"})
                assert (ack["ok"], ack["error"]) == (False, "forbidden")
        assert len(platform.requests) == 2


async def test_authz_url_non_2xx_refuses() -> None:
    """A 403 from the platform refuses the channel."""
    async with tiny_backend(_verdict) as platform:
        async with running_gateway(**SECURE, authz_url=f"{platform.url}/authz") as gw:
            token = access_token("7")
            async with sio_connect(gw, "/execution", auth={"token": token}) as sio:
                ack = await sio.call("subscribe", {"id": f"{new_id()}-403"})
                assert (ack["ok"], ack["error"]) == (False, "forbidden")
        assert len(platform.requests) == 1


async def test_authz_answers_are_cached_for_the_ttl() -> None:
    """Within REALTIME_AUTHZ_CACHE_TTL the platform is asked once per user+channel."""
    async with tiny_backend(_verdict) as platform:
        settings = {**SECURE, "authz_url": platform.url, "authz_cache_ttl": 60}
        async with running_gateway(**settings) as gw:
            token = access_token("7")
            channel_id = f"{new_id()}-ok"
            for _ in range(3):
                async with ws_joined(gw, f"/ws/execution/{channel_id}", token=token):
                    pass
            async with sio_connect(gw, "/execution", auth={"token": token}) as sio:
                assert (await sio.call("subscribe", {"id": channel_id}))["ok"] is True
            assert len(platform.requests) == 1
            async with ws_joined(
                gw, f"/ws/execution/{channel_id}", token=access_token("8")
            ):
                pass  # another user is another question
            assert len(platform.requests) == 2


async def test_authz_is_asked_again_after_the_ttl() -> None:
    """Past the cache TTL the platform is asked again."""
    ttl = 0.3
    async with tiny_backend(_verdict) as platform:
        settings = {**SECURE, "authz_url": platform.url, "authz_cache_ttl": ttl}
        async with running_gateway(**settings) as gw:
            token = access_token("7")
            path = f"/ws/execution/{new_id()}-ok"
            async with ws_joined(gw, path, token=token):
                pass
            await asyncio.sleep(ttl + 0.1)  # let the cached answer expire
            async with ws_joined(gw, path, token=token):
                pass
        assert len(platform.requests) == 2


async def test_authz_fails_closed_when_the_platform_is_down() -> None:
    """With nothing listening at REALTIME_AUTHZ_URL every channel is refused."""
    settings = {**SECURE, "authz_url": f"http://127.0.0.1:{free_port()}/authz"}
    async with running_gateway(**settings) as gw:
        token = access_token("7")
        async with ws_connect(gw, f"/ws/execution/{new_id()}-ok", token=token) as ws:
            assert_error(await ws.next(), "forbidden")
            assert (await ws.closed()).code == 4403
        async with sio_connect(gw, "/execution", auth={"token": token}) as sio:
            ack = await sio.call("subscribe", {"id": f"{new_id()}-ok"})
            assert (ack["ok"], ack["error"]) == (False, "forbidden")
