"""The Socket.IO admin UI namespace: on only with credentials, and behind them."""

from __future__ import annotations

import pytest
import socketio

from tests.support.clients import SIOClient, publish, sio_connect
from tests.support.gateway import RunningGateway, running_gateway

USERNAME = "operator"
PASSWORD = "admin-password-for-tests"


async def _admin(gateway: RunningGateway, auth: dict[str, str] | None) -> SIOClient:
    client = SIOClient("/admin")
    await client.connect(gateway, auth=auth, transports=["websocket"])
    return client


async def test_admin_namespace_accepts_the_configured_credentials() -> None:
    """With REALTIME_ADMIN_USERNAME/PASSWORD set, /admin takes those credentials."""
    async with running_gateway(
        admin_username=USERNAME, admin_password=PASSWORD
    ) as gateway:
        admin = await _admin(gateway, {"username": USERNAME, "password": PASSWORD})
        try:
            assert admin.client.connected
            assert "/admin" in admin.client.namespaces
            # The instrumented server still serves its users.
            async with sio_connect(gateway, "/execution") as user:
                assert (await user.call("subscribe", {"id": "1"}))["ok"] is True
                await publish(gateway, "execution:1", "execution_update", {"n": 1})
                update = await user.next_of("execution_update")
                assert update["data"] == {"n": 1}
        finally:
            await admin.disconnect()


@pytest.mark.parametrize(
    "auth",
    [
        {"username": USERNAME, "password": "wrong"},
        {"username": "someone", "password": PASSWORD},
        None,
    ],
    ids=["wrong-password", "wrong-user", "no-credentials"],
)
async def test_admin_namespace_refuses_wrong_credentials(
    auth: dict[str, str] | None,
) -> None:
    """Wrong or missing credentials are refused."""
    async with running_gateway(
        admin_username=USERNAME, admin_password=PASSWORD
    ) as gateway:
        client = SIOClient("/admin")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(gateway, auth=auth, transports=["websocket"])
        await client.disconnect()
        assert client.connect_errors


async def test_admin_namespace_is_absent_without_credentials_configured() -> None:
    """Unset, /admin does not exist: even the would-be credentials are refused."""
    async with running_gateway() as gateway:
        client = SIOClient("/admin")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(
                gateway,
                auth={"username": USERNAME, "password": PASSWORD},
                transports=["websocket"],
            )
        await client.disconnect()
        assert client.connect_errors


async def test_gateways_started_after_an_instrumented_one_still_serve() -> None:
    """The admin UI's process-wide patches are undone when its gateway stops."""
    credentials = {"admin_username": USERNAME, "admin_password": PASSWORD}
    auth = {"username": USERNAME, "password": PASSWORD}
    for settings in (credentials, credentials, {}):
        async with running_gateway(**settings) as gateway:
            if settings:
                admin = await _admin(gateway, auth)
                await admin.disconnect()
            async with sio_connect(gateway, "/execution") as user:
                assert (await user.call("subscribe", {"id": "1"}))["ok"] is True
