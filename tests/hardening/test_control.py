"""control_command goes to the platform's backend and its answer comes back."""

from __future__ import annotations

from typing import Any

from tests.support.backend import Request, tiny_backend
from tests.support.clients import sio_connect, ws_joined
from tests.support.envelopes import assert_gateway_says
from tests.support.gateway import running_gateway
from tests.support.processes import free_port
from tests.support.tokens import API_KEY, SECRET, access_token

SECURE = {"jwt_secret": SECRET, "api_key": API_KEY}
EXPECTED_BODY = {"command": "stop", "execution_id": "42", "user_id": "7"}


def _accepted(request: Request) -> tuple[int, Any]:
    return 202, {"accepted": True, "command": request.body["command"]}


def _assert_forwarded(request: Request) -> None:
    assert (request.method, request.path) == ("POST", "/control")
    assert request.body == EXPECTED_BODY
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["content-type"] == "application/json"


async def test_websocket_control_command_is_forwarded_and_answered() -> None:
    """The backend gets {command, execution_id, user_id}; the client its verdict."""
    async with tiny_backend(_accepted) as backend:
        control_url = f"{backend.url}/control"
        async with (
            running_gateway(**SECURE, control_url=control_url) as gateway,
            ws_joined(gateway, "/ws/execution/42", token=access_token("7")) as ws,
        ):
            answer = await ws.ask(
                {"type": "control_command", "command": "stop", "execution_id": "42"}
            )
        data = assert_gateway_says(answer, "control_result")
        assert answer["channel"] == "execution:42"
        assert data == {
            "ok": True,
            "status": 202,
            "detail": {"accepted": True, "command": "stop"},
        }
        [request] = backend.requests
        _assert_forwarded(request)


async def test_socketio_control_command_is_forwarded_and_acked() -> None:
    """On Socket.IO the acknowledgement is the control_result envelope."""
    async with tiny_backend(_accepted) as backend:
        control_url = f"{backend.url}/control"
        async with (
            running_gateway(**SECURE, control_url=control_url) as gateway,
            sio_connect(
                gateway, "/execution", auth={"token": access_token("7")}
            ) as sio,
        ):
            ack = await sio.call(
                "control_command", {"command": "stop", "execution_id": "42"}
            )
        data = assert_gateway_says(ack, "control_result")
        assert data == {
            "ok": True,
            "status": 202,
            "detail": {"accepted": True, "command": "stop"},
        }
        [request] = backend.requests
        _assert_forwarded(request)


async def test_control_backend_refusal_is_reported_not_ok() -> None:
    """A non-2xx answer comes back as ok false with the status and the detail."""

    def refuse(request: Request) -> tuple[int, Any]:
        return 409, {"detail": "already finished"}

    async with tiny_backend(refuse) as backend:
        async with (
            running_gateway(**SECURE, control_url=backend.url) as gateway,
            ws_joined(gateway, "/ws/execution/42", token=access_token("7")) as ws,
        ):
            answer = await ws.ask(
                {"type": "control_command", "command": "stop", "execution_id": "42"}
            )
        assert assert_gateway_says(answer, "control_result") == {
            "ok": False,
            "status": 409,
            "detail": {"detail": "already finished"},
        }


async def test_control_backend_down_is_reported_not_ok_on_both_protocols() -> None:
    """With nothing listening at REALTIME_CONTROL_URL both protocols get ok false."""
    control_url = f"http://127.0.0.1:{free_port()}/control"
    token = access_token("7")
    async with (
        running_gateway(**SECURE, control_url=control_url) as gateway,
        ws_joined(gateway, "/ws/execution/42", token=token) as ws,
        sio_connect(gateway, "/execution", auth={"token": token}) as sio,
    ):
        command = {"command": "stop", "execution_id": "42"}
        answer = await ws.ask({"type": "control_command", **command})
        ack = await sio.call("control_command", command)
        assert (await ws.ask({"type": "ping"}))["type"] == "pong"
    for envelope in (answer, ack):
        data = assert_gateway_says(envelope, "control_result")
        assert data["ok"] is False
        assert data["status"] is None
        assert isinstance(data["detail"], str)
