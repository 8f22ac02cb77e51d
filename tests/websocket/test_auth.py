"""Plain WebSocket authentication against a gateway with a JWT secret."""

from __future__ import annotations

import time

import pytest

from tests.support.clients import assert_ws_serves, new_id, publish, ws_connect
from tests.support.envelopes import assert_error, assert_gateway_says, assert_published
from tests.support.gateway import RunningGateway
from tests.support.tokens import BAD_TOKENS, access_token


async def test_a_token_in_the_query_authenticates(
    secure_gateway: RunningGateway,
) -> None:
    """?token=: connection says authenticated, with the user id as a string."""
    channel = f"execution:{new_id()}"
    path = "/ws/" + channel.replace(":", "/")
    async with ws_connect(secure_gateway, path, token=access_token(7)) as client:
        data = assert_gateway_says(await client.next(), "connection")
        await publish(secure_gateway, channel, "log_line")
        live = await client.next()
    assert (data["authenticated"], data["user_id"]) == (True, "7")
    assert_published(live, "log_line", channel, 1)


async def test_a_bearer_header_authenticates(secure_gateway: RunningGateway) -> None:
    """Authorization: Bearer on the handshake authenticates."""
    headers = {"Authorization": f"Bearer {access_token('42')}"}
    async with ws_connect(secure_gateway, "/ws/system", headers=headers) as client:
        data = (await client.next_of("connection"))["data"]
    assert (data["authenticated"], data["user_id"]) == (True, "42")


def welcome_epoch(message: dict[str, object]) -> object:
    data = message["data"]
    assert isinstance(data, dict)
    assert isinstance(data["epoch"], str)
    return data["epoch"]


async def test_an_auth_message_authenticates_an_open_connection(
    secure_gateway: RunningGateway,
) -> None:
    """No token: connection (not authenticated); auth: the position, then live."""
    channel = f"execution:{new_id()}"
    path = "/ws/" + channel.replace(":", "/")
    async with ws_connect(secure_gateway, path) as client:
        welcome = assert_gateway_says(await client.next(), "connection")
        answer = await client.ask({"type": "auth", "token": access_token("7")})
        await publish(secure_gateway, channel, "log_line")
        live = await client.next()
    assert (welcome["authenticated"], welcome["user_id"]) == (False, None)
    assert assert_gateway_says(answer, "authenticated") == {
        "authenticated": True,
        "user_id": "7",
        "channel": channel,
        "epoch": welcome_epoch(answer),
        "offset": 0,
    }
    assert_published(live, "log_line", channel, 1)


async def test_after_auth_the_state_follows(secure_gateway: RunningGateway) -> None:
    """A connection that authenticates late still gets the channel's state."""
    channel = f"execution:{new_id()}"
    await publish(secure_gateway, channel, "execution_status", {"status": "running"})
    path = "/ws/" + channel.replace(":", "/")
    async with ws_connect(secure_gateway, path) as client:
        await client.next_of("connection")
        await client.ask({"type": "auth", "token": access_token()})
        state = await client.next()
    assert_published(state, "execution_status", channel, 1)


async def test_before_auth_a_connection_gets_nothing_of_any_channel(
    secure_gateway: RunningGateway,
) -> None:
    """Unauthenticated: pings are answered, but no channel's messages arrive."""
    channel = f"execution:{new_id()}"
    path = "/ws/" + channel.replace(":", "/")
    async with ws_connect(secure_gateway, path) as client:
        await client.next_of("connection")
        await publish(secure_gateway, channel, "execution_status")
        await publish(secure_gateway, "system", "maintenance")
        pong = await client.ask({"type": "ping"})
    assert_gateway_says(pong, "pong")


async def test_before_auth_other_requests_are_unauthorized(
    secure_gateway: RunningGateway,
) -> None:
    """Anything but ping and auth before auth: error unauthorized, still open."""
    async with ws_connect(secure_gateway, f"/ws/execution/{new_id()}") as client:
        await client.next_of("connection")
        answer = await client.ask({"type": "get_status"})
        pong = await client.ask({"type": "ping"})
    assert_error(answer, "unauthorized")
    assert pong["type"] == "pong"


async def test_no_auth_within_the_timeout_closes_with_4401(
    secure_gateway: RunningGateway,
) -> None:
    """After REALTIME_AUTH_TIMEOUT (0.5 s here): error unauthorized, close 4401."""
    started = time.monotonic()
    async with ws_connect(secure_gateway, f"/ws/execution/{new_id()}") as client:
        await client.next_of("connection")
        assert_error(await client.next(), "unauthorized")
        closed = await client.closed()
    assert closed.code == 4401
    assert time.monotonic() - started >= 0.4
    await assert_ws_serves(secure_gateway, token=access_token())


@pytest.mark.parametrize("reason", sorted(BAD_TOKENS))
async def test_a_bad_token_on_the_handshake_closes_with_4401(
    secure_gateway: RunningGateway, reason: str
) -> None:
    """Expired, forged, unsigned, refresh, garbage, userless: error, then 4401."""
    path = f"/ws/execution/{new_id()}"
    async with ws_connect(secure_gateway, path, token=BAD_TOKENS[reason]) as client:
        assert_error(await client.next(), "unauthorized")
        closed = await client.closed()
    assert closed.code == 4401
    await assert_ws_serves(secure_gateway, token=access_token())


@pytest.mark.parametrize("reason", sorted(BAD_TOKENS))
async def test_a_bad_token_in_an_auth_message_closes_with_4401(
    secure_gateway: RunningGateway, reason: str
) -> None:
    """An auth message with a bad token: error unauthorized, then 4401."""
    async with ws_connect(secure_gateway, f"/ws/execution/{new_id()}") as client:
        await client.next_of("connection")
        answer = await client.ask({"type": "auth", "token": BAD_TOKENS[reason]})
        closed = await client.closed()
    assert_error(answer, "unauthorized")
    assert closed.code == 4401
    await assert_ws_serves(secure_gateway, token=access_token())


async def test_a_bearer_header_with_a_bad_token_closes_with_4401(
    secure_gateway: RunningGateway,
) -> None:
    """A bad token in the header is refused like one in the query."""
    headers = {"Authorization": f"Bearer {BAD_TOKENS['expired']}"}
    async with ws_connect(secure_gateway, "/ws/system", headers=headers) as client:
        assert_error(await client.next(), "unauthorized")
        assert (await client.closed()).code == 4401
    await assert_ws_serves(secure_gateway, token=access_token())


async def test_auth_again_as_the_same_user_is_answered(
    secure_gateway: RunningGateway,
) -> None:
    """A fresh token for the same user (a refresh) is answered by authenticated."""
    path = f"/ws/execution/{new_id()}"
    async with ws_connect(secure_gateway, path, token=access_token("7")) as client:
        await client.next_of("connection")
        answer = await client.ask({"type": "auth", "token": access_token("7")})
    assert answer["type"] == "authenticated"


async def test_auth_as_another_user_closes_with_4401(
    secure_gateway: RunningGateway,
) -> None:
    """A connection cannot change user: error, then close 4401."""
    path = f"/ws/execution/{new_id()}"
    async with ws_connect(secure_gateway, path, token=access_token("7")) as client:
        await client.next_of("connection")
        answer = await client.ask({"type": "auth", "token": access_token("8")})
        closed = await client.closed()
    assert_error(answer, "unauthorized")
    assert closed.code == 4401
    await assert_ws_serves(secure_gateway, token=access_token("7"))


async def test_a_user_channel_reaches_every_connection_of_that_user(
    secure_gateway: RunningGateway,
) -> None:
    """user:{id} goes to each of the user's connections, on any path."""
    user = new_id()
    token = access_token(user)
    async with (
        ws_connect(secure_gateway, f"/ws/execution/{new_id()}", token=token) as one,
        ws_connect(secure_gateway, "/ws/monitor", token=token) as two,
    ):
        await one.next_of("connection")
        await two.next_of("connection")
        await two.next_of("system_status")
        [result] = await publish(secure_gateway, f"user:{user}", "notification")
        for client in (one, two):
            message = await client.next()
            assert_published(message, "notification", f"user:{user}", result["offset"])


async def test_a_user_channel_does_not_reach_other_users(
    secure_gateway: RunningGateway,
) -> None:
    """Another user's notices never arrive."""
    me, other = new_id(), new_id()
    path = f"/ws/execution/{new_id()}"
    async with ws_connect(secure_gateway, path, token=access_token(me)) as client:
        await client.next_of("connection")
        await publish(secure_gateway, f"user:{other}", "notification")
        await publish(secure_gateway, f"user:{me}", "notification")
        received = await client.next()
    assert received["channel"] == f"user:{me}"


async def test_a_user_may_follow_only_their_own_user_channel(
    secure_gateway: RunningGateway,
) -> None:
    """subscribe_channel user:me is answered; user:other is forbidden."""
    path = f"/ws/execution/{new_id()}"
    async with ws_connect(secure_gateway, path, token=access_token("7")) as client:
        await client.next_of("connection")
        mine = await client.ask({"type": "subscribe_channel", "channel": "user:7"})
        theirs = await client.ask({"type": "subscribe_channel", "channel": "user:8"})
        status = await client.ask({"type": "get_status", "channel": "user:8"})
    assert mine["type"] == "subscribed"
    assert_error(theirs, "forbidden")
    assert_error(status, "forbidden")


async def test_a_late_auth_still_recovers_from_since(
    secure_gateway: RunningGateway,
) -> None:
    """?since&epoch without a token, then auth: the missed messages, then recovery."""
    channel = f"execution:{new_id()}"
    path = "/ws/" + channel.replace(":", "/")
    for _ in range(3):
        await publish(secure_gateway, channel, "log_line")
    async with ws_connect(secure_gateway, path, token=access_token()) as client:
        epoch = (await client.next_of("connection"))["data"]["epoch"]
    async with ws_connect(secure_gateway, path, since=1, epoch=epoch) as client:
        await client.next_of("connection")
        await client.ask({"type": "auth", "token": access_token()})
        missed = [await client.next() for _ in range(2)]
        recovery = await client.next_of("recovery")
    assert [m["offset"] for m in missed] == [2, 3]
    assert recovery["data"]["recovered"] is True
