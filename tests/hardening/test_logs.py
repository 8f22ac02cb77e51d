"""REALTIME_LOG_FORMAT=json: one JSON object a line, and never a token in it."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
from typing import Any

import httpx
import orjson
import pytest
import socketio
import websockets

from tests.support.processes import GatewayProcess
from tests.support.tokens import API_KEY, SECRET, access_token

TOKEN = access_token("7")
HEADER_TOKEN = access_token("7")
MESSAGE_TOKEN = access_token("7")
SIO_TOKEN = access_token("8")
BAD_TOKEN = access_token("9", secret="another-secret-of-a-sufficient-length")
SECRETS = {
    "query token": TOKEN,
    "header token": HEADER_TOKEN,
    "auth message token": MESSAGE_TOKEN,
    "socket.io token": SIO_TOKEN,
    "refused token": BAD_TOKEN,
    "API key": API_KEY,
    "JWT secret": SECRET,
}
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def _exercise(gateway: GatewayProcess) -> None:
    """Connect every way a token can travel, publish, and be refused once."""
    ws_url = gateway.ws_url
    async with websockets.connect(f"{ws_url}/ws/execution/1?token={TOKEN}") as ws:
        assert "connection" in str(await ws.recv())
        await ws.send(orjson.dumps({"type": "auth", "token": TOKEN}).decode())
        assert "authenticated" in str(await ws.recv())
    async with websockets.connect(
        f"{ws_url}/ws/execution/2",
        additional_headers={"Authorization": f"Bearer {HEADER_TOKEN}"},
    ) as ws:
        assert "connection" in str(await ws.recv())
    async with websockets.connect(f"{ws_url}/ws/execution/3") as ws:
        await ws.recv()
        await ws.send(orjson.dumps({"type": "auth", "token": MESSAGE_TOKEN}).decode())
        assert "authenticated" in str(await ws.recv())
    async with websockets.connect(f"{ws_url}/ws/execution/4?token={BAD_TOKEN}") as ws:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for _ in ws:
                pass
        assert ws.close_code == 4401

    for options in (
        {"auth": {"token": SIO_TOKEN}},
        {"headers": {"Authorization": f"Bearer {SIO_TOKEN}"}},
    ):
        sio = socketio.AsyncClient(reconnection=False)
        await sio.connect(
            gateway.url, namespaces=["/execution"], transports=["websocket"], **options
        )
        ack = await sio.call("subscribe", {"id": "5"}, namespace="/execution")
        assert ack["ok"] is True
        await sio.disconnect()
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(
        f"{gateway.url}?token={SIO_TOKEN}",
        namespaces=["/execution"],
        transports=["websocket"],
    )
    await sio.disconnect()

    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        response = await http.post(
            "/api/publish",
            json={"channel": "execution:1", "type": "log_entry", "data": {}},
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        assert response.status_code == 200
        # A polling handshake: an HTTP request line with the token in it.
        response = await http.get(
            "/socket.io/", params={"EIO": "4", "transport": "polling", "token": TOKEN}
        )
        assert response.status_code == 200


@pytest.fixture(scope="module")
async def log_lines() -> list[str]:
    """The whole output of a gateway run at DEBUG with JSON logs."""
    env = {
        "REALTIME_LOG_FORMAT": "json",
        "REALTIME_LOG_LEVEL": "DEBUG",
        "REALTIME_JWT_SECRET": SECRET,
        "REALTIME_API_KEY": API_KEY,
        "REALTIME_REDIS_URL": "",
        "REALTIME_DRAIN_TIMEOUT": "2",
    }
    gateway = GatewayProcess(env).start()
    try:
        await _exercise(gateway)
    finally:
        gateway.signal(signal.SIGTERM)
        assert await asyncio.to_thread(gateway.wait) == 0
    return [line for line in gateway.output if line.strip()]


def _entries(lines: list[str]) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in lines]


async def test_every_line_is_a_json_object_with_the_standard_fields(
    log_lines: list[str],
) -> None:
    """Each line parses as JSON with time (UTC, Z), level, logger and message."""
    assert len(log_lines) > 20
    for line in log_lines:
        entry = orjson.loads(line)
        assert isinstance(entry, dict), line
        assert ISO_UTC.match(entry["time"]), line
        assert entry["level"] in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
        assert isinstance(entry["logger"], str)
        assert isinstance(entry["message"], str)
        assert entry["level"] != "ERROR", line


async def test_gateway_events_are_logged_with_named_fields(
    log_lines: list[str],
) -> None:
    """Start, connects and disconnects come from realtime.* with their fields."""
    entries = _entries(log_lines)
    loggers = {entry["logger"] for entry in entries}
    assert loggers >= {"realtime.app", "realtime.edges.websocket"}
    assert "realtime.edges.socketio" in loggers
    messages = {(e["logger"], e["message"]): e for e in entries}
    connected = messages["realtime.edges.websocket", "websocket connected"]
    assert connected["channel"].startswith("execution:")
    assert connected["user"] == "7"
    assert "client" in connected
    sio = messages["realtime.edges.socketio", "socket.io connected"]
    assert (sio["namespace"], sio["user"]) == ("/execution", "8")
    assert ("realtime.app", "gateway started") in messages
    assert ("realtime.app", "gateway stopped") in messages


async def test_debug_runs_keep_uvicorn_handshake_lines(log_lines: list[str]) -> None:
    """At DEBUG uvicorn's per-handshake lines are there, on a logger of their own."""
    handshakes = [
        entry["message"]
        for entry in _entries(log_lines)
        if entry["logger"] == "uvicorn.error.websocket"
    ]
    assert any("[accepted]" in message for message in handshakes)
    assert "connection open" in handshakes


async def test_no_token_or_key_appears_in_the_output(log_lines: list[str]) -> None:
    """No token, API key or secret is written, even at DEBUG; they are redacted."""
    output = "\n".join(log_lines)
    for name, secret in SECRETS.items():
        assert secret not in output, name
    # The signature part alone identifies a token too.
    for name, token in SECRETS.items():
        if token.count(".") == 2:
            assert token.rsplit(".", 1)[1] not in output, name
    assert "[redacted]" in output  # uvicorn's lines are kept, minus the token
