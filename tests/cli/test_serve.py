"""``realtime serve`` (and plain ``realtime``): the gateway as operators start it."""

from __future__ import annotations

import json

import httpx

from tests.support.cli import clean_env, port_of, realtime_running
from tests.support.processes import free_port
from tests.support.tokens import API_KEY, SECRET

LOCAL = ("--host", "127.0.0.1")


async def _health(port: int) -> dict[str, object]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://127.0.0.1:{port}/health")
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


async def test_serve_serves_the_gateway_and_warns_that_it_runs_open() -> None:
    """With no secret and no key: it serves /health and says it runs open."""
    async with realtime_running("serve", *LOCAL, "--port", "0", merge_stderr=True) as (
        served
    ):
        port, log = await port_of(served)
        health = await _health(port)
    assert (health["status"], health["backend"]) == ("healthy", "memory")
    text = "\n".join(log)
    assert "REALTIME_JWT_SECRET is not set" in text
    assert "REALTIME_API_KEY is not set" in text


async def test_plain_realtime_serves_too() -> None:
    """`realtime` with no command does what `realtime serve` does."""
    async with realtime_running(*LOCAL, "--port", "0", merge_stderr=True) as served:
        port, _ = await port_of(served)
        health = await _health(port)
    assert health["status"] == "healthy"


async def test_the_port_variable_chooses_the_port() -> None:
    """PORT is the port when --port is not given."""
    wanted = free_port()
    async with realtime_running(
        "serve", *LOCAL, env=clean_env(PORT=str(wanted)), merge_stderr=True
    ) as served:
        port, _ = await port_of(served)
        await _health(port)
    assert port == wanted


async def test_settings_come_from_realtime_variables() -> None:
    """REALTIME_API_KEY, REALTIME_JWT_SECRET and REALTIME_LOG_FORMAT take effect."""
    env = clean_env(
        REALTIME_API_KEY=API_KEY,
        REALTIME_JWT_SECRET=SECRET,
        REALTIME_LOG_FORMAT="json",
    )
    async with realtime_running(
        "serve", *LOCAL, "--port", "0", env=env, merge_stderr=True
    ) as served:
        port, log = await port_of(served)
        body = {"channel": "execution:1", "type": "log_line"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            without_key = await http.post("/api/publish", json=body)
            with_key = await http.post(
                "/api/publish",
                json=body,
                headers={"Authorization": f"Bearer {API_KEY}"},
            )
    assert without_key.status_code == 401
    assert with_key.status_code == 200
    records = [json.loads(line) for line in log]
    assert all({"time", "level", "message"} <= set(record) for record in records)
    assert not any("is not set" in record["message"] for record in records)
