"""Socket.IO connects against a gateway with a JWT secret."""

from __future__ import annotations

import pytest
import socketio

from tests.support.clients import (
    SIOClient,
    assert_sio_serves,
    new_id,
    publish,
    sio_connect,
)
from tests.support.gateway import RunningGateway
from tests.support.tokens import BAD_TOKENS, access_token


async def _refusal(
    gateway: RunningGateway, namespace: str = "/execution", **options: object
) -> object:
    """Connect, expect refusal; what connect_error reported."""
    client = SIOClient(namespace)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(gateway, transports=["websocket"], **options)  # type: ignore[arg-type]
    await client.disconnect()
    assert client.connect_errors, "no connect_error"
    return client.connect_errors[0]


@pytest.mark.parametrize("namespace", ["/monitor", "/system", "/execution"])
async def test_a_connect_without_a_token_fails_unauthorized(
    secure_gateway: RunningGateway, namespace: str
) -> None:
    """No token: connect_error with the message unauthorized."""
    error = await _refusal(secure_gateway, namespace)
    assert isinstance(error, dict)
    assert error["message"] == "unauthorized"
    await assert_sio_serves(secure_gateway, token=access_token())


@pytest.mark.parametrize("reason", sorted(BAD_TOKENS))
async def test_a_bad_token_fails_unauthorized(
    secure_gateway: RunningGateway, reason: str
) -> None:
    """Expired, forged, unsigned, refresh, garbage, userless: unauthorized."""
    error = await _refusal(secure_gateway, auth={"token": BAD_TOKENS[reason]})
    assert isinstance(error, dict)
    assert error["message"] == "unauthorized"
    await assert_sio_serves(secure_gateway, token=access_token())


async def test_a_bad_token_in_the_query_fails_unauthorized(
    secure_gateway: RunningGateway,
) -> None:
    """?token= with a bad token is refused too."""
    error = await _refusal(secure_gateway, query=f"token={BAD_TOKENS['expired']}")
    assert isinstance(error, dict)
    assert error["message"] == "unauthorized"


async def test_a_token_in_auth_connects(secure_gateway: RunningGateway) -> None:
    """auth {"token"} connects and the connection is served."""
    execution_id = new_id()
    auth = {"token": access_token("7")}
    async with sio_connect(secure_gateway, "/execution", auth=auth) as client:
        ack = await client.call("subscribe", {"id": execution_id})
        await publish(secure_gateway, f"execution:{execution_id}", "log_line")
        envelope = await client.next_of("log_line")
    assert ack["ok"] is True
    assert envelope["offset"] == 1


async def test_a_token_in_the_query_connects(secure_gateway: RunningGateway) -> None:
    """?token= on the handshake connects."""
    query = f"token={access_token('7')}"
    async with sio_connect(secure_gateway, "/system", query=query) as client:
        await publish(secure_gateway, "system", "maintenance")
        assert (await client.next_of("maintenance"))["channel"] == "system"


async def test_a_bearer_header_connects(secure_gateway: RunningGateway) -> None:
    """Authorization: Bearer on the handshake connects."""
    headers = {"Authorization": f"Bearer {access_token('7')}"}
    async with sio_connect(secure_gateway, "/monitor", headers=headers) as client:
        assert (await client.next_of("system_status"))["channel"] == "monitor"


async def test_a_user_channel_reaches_the_users_socketio_connections(
    secure_gateway: RunningGateway,
) -> None:
    """user:{id} arrives on every namespace the user is connected to, not others'."""
    me, other = new_id(), new_id()
    async with (
        sio_connect(
            secure_gateway, "/execution", auth={"token": access_token(me)}
        ) as a,
        sio_connect(secure_gateway, "/system", auth={"token": access_token(me)}) as b,
        sio_connect(
            secure_gateway, "/system", auth={"token": access_token(other)}
        ) as c,
    ):
        await a.call("subscribe", {"id": new_id()})
        await publish(secure_gateway, f"user:{me}", "notification", {"text": "hi"})
        await publish(secure_gateway, f"user:{other}", "notification", {"text": "yo"})
        mine = [await client.next_of("notification") for client in (a, b)]
        theirs = await c.next_of("notification")
    assert [m["channel"] for m in mine] == [f"user:{me}"] * 2
    assert theirs["channel"] == f"user:{other}"
