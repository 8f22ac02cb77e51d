"""Whatever a client or publisher sends, the gateway answers and keeps serving."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import websockets
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from realtime.protocol.client import CLIENT_TYPES
from realtime.protocol.errors import CloseCode, ErrorCode
from tests.support.clients import SIOClient, sio_connect, ws_url
from tests.support.gateway import RunningGateway, running_gateway
from tests.support.tokens import API_KEY

MAX_MESSAGE = 1024
MAX_PUBLISH = 2048
EXAMPLES = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
ERROR_CODES = {code.value for code in ErrorCode}
CLOSE_CODES = {int(code) for code in CloseCode} - {1000}

# -- what gets sent --------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=40),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=12), inner, max_size=4),
    ),
    max_leaves=12,
)
ids = st.one_of(
    st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
    st.text(max_size=70),
    st.integers(),
    json_values,
)
FIELDS = (
    "id",
    "executionId",
    "execution_id",
    "channel",
    "since",
    "epoch",
    "events",
    "limit",
    "token",
    "command",
    "data",
)
field_values = st.one_of(
    ids,
    st.integers(min_value=-5, max_value=2**64),
    st.lists(st.text(max_size=20), max_size=5),
    st.sampled_from(["monitor", "system", "execution:1", "user:1", "nope:1"]),
)
requests = st.dictionaries(st.sampled_from(FIELDS), field_values, max_size=5)
client_messages = st.builds(
    lambda kind, fields: {**fields, "type": kind},
    st.one_of(st.sampled_from(sorted(CLIENT_TYPES)), st.text(max_size=20)),
    requests,
)


def _dumps(value: Any) -> str:
    # The standard library writes NaN and Infinity, which are not JSON.
    return json.dumps(value)


ws_frames = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200),
    json_values.map(_dumps),
    client_messages.map(_dumps),
    client_messages.map(lambda m: _dumps(m).encode()),
    st.integers(MAX_MESSAGE + 1, 3 * MAX_MESSAGE).map(lambda n: "x" * n),
)

CHANNELS = ["execution:1", "pipeline:p-2", "project:3", "monitor", "system", "user:4"]
TYPES = ["execution_update", "log_entry", "execution_status", "connection", "error"]
publications = st.fixed_dictionaries(
    {},
    optional={
        "channel": st.one_of(st.sampled_from(CHANNELS), st.text(max_size=70)),
        "channels": st.lists(
            st.one_of(st.sampled_from(CHANNELS), st.text(max_size=10)), max_size=4
        ),
        "type": st.one_of(st.sampled_from(TYPES), st.text(max_size=70)),
        "data": st.one_of(
            st.dictionaries(st.text(max_size=8), json_values), json_values
        ),
        "message": json_values,
        "state": json_values,
        "idempotency_key": json_values,
        "version": json_values,
    },
)
likely_valid = st.fixed_dictionaries(
    {
        "channel": st.sampled_from(CHANNELS),
        "type": st.sampled_from(TYPES[:3]),
        "data": st.dictionaries(st.text(max_size=8), json_values, max_size=3),
    },
    optional={
        "message": st.text(max_size=20),
        "state": st.booleans(),
        "idempotency_key": st.text(max_size=10),
        "version": st.integers(),
    },
)
publish_bodies = st.one_of(
    json_values,
    publications,
    likely_valid,
    st.lists(st.one_of(likely_valid, publications), max_size=5),
    st.text(min_size=MAX_PUBLISH, max_size=2 * MAX_PUBLISH),
)

# -- the servers -------------------------------------------------------------------


@pytest.fixture(scope="module")
async def open_gateway() -> AsyncIterator[RunningGateway]:
    """Small limits, no token needed, and rates high enough for a fuzzer."""
    async with running_gateway(
        max_message_bytes=MAX_MESSAGE,
        max_publish_bytes=MAX_PUBLISH,
        api_key=API_KEY,
        max_client_rate=100_000,
        max_subscriptions=100_000,
        history_size=20,
    ) as served:
        yield served


@pytest.fixture(scope="module")
async def http(open_gateway: RunningGateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=open_gateway.url, timeout=5) as client:
        yield client


@pytest.fixture(scope="module")
async def sio_client(open_gateway: RunningGateway) -> AsyncIterator[SIOClient]:
    async with sio_connect(open_gateway, "/execution") as client:
        yield client


# -- plain WebSocket ---------------------------------------------------------------


async def _answers_until_pong(socket: Any) -> tuple[list[dict[str, Any]], int | None]:
    """Every message up to the pong, or up to the close and its code."""
    received: list[dict[str, Any]] = []
    try:
        while True:
            message = orjson.loads(await asyncio.wait_for(socket.recv(), 5))
            received.append(message)
            if message["type"] == "pong":
                return received, None
    except websockets.ConnectionClosed:
        return received, socket.close_code


@EXAMPLES
@given(frame=ws_frames)
async def test_any_websocket_frame_gets_an_answer_or_a_documented_close(
    open_gateway: RunningGateway, frame: str | bytes
) -> None:
    """After any frame a ping gets its pong, or the close code is documented."""
    async with websockets.connect(
        ws_url(open_gateway, "/ws/execution/fuzz"), max_size=None
    ) as socket:
        greeting = orjson.loads(await socket.recv())
        assert greeting["type"] == "connection"
        await socket.send(frame)
        await socket.send('{"type": "ping"}')
        received, closed = await _answers_until_pong(socket)

    event(f"closed {closed}" if closed else f"answered {received[0]['type']}")
    for message in received:
        assert isinstance(message["data"], dict), message
        if message["type"] == "error":
            assert message["data"]["code"] in ERROR_CODES, message
    if closed is not None:
        assert closed in CLOSE_CODES, closed
    too_big = len(frame.encode() if isinstance(frame, str) else frame) > MAX_MESSAGE
    assert closed == (CloseCode.MESSAGE_TOO_BIG if too_big else None), received


# -- POST /api/publish --------------------------------------------------------------


def _assert_answer(response: httpx.Response) -> None:
    event(f"HTTP {response.status_code}")
    assert response.status_code in {200, 400, 401, 413, 422}, response.text
    body = response.json()
    if response.status_code == 200:
        assert isinstance(body["results"], list)
    else:
        assert isinstance(body["error"], str), body
        assert isinstance(body["detail"], str), body


@EXAMPLES
@given(body=publish_bodies, with_key=st.sampled_from([True, True, True, False]))
async def test_any_json_body_to_publish_is_answered_without_a_500(
    http: httpx.AsyncClient, body: Any, with_key: bool
) -> None:
    """Any JSON body gets 200, 400, 401, 413 or 422, never a 500."""
    headers = {"Content-Type": "application/json"}
    if with_key:
        headers["Authorization"] = f"Bearer {API_KEY}"
    response = await http.post(
        "/api/publish", content=_dumps(body).encode(), headers=headers
    )
    _assert_answer(response)
    if not with_key:
        assert response.status_code == 401


@EXAMPLES
@given(
    content=st.one_of(
        st.binary(max_size=200),
        st.binary(min_size=MAX_PUBLISH - 10, max_size=MAX_PUBLISH + 10),
    )
)
async def test_any_bytes_to_publish_are_answered_without_a_500(
    http: httpx.AsyncClient, content: bytes
) -> None:
    """Raw bytes get 200, 400, 413 or 422, never a 500."""
    response = await http.post(
        "/api/publish", content=content, headers={"Authorization": f"Bearer {API_KEY}"}
    )
    _assert_answer(response)
    if len(content) > MAX_PUBLISH:
        assert response.status_code == 413


# -- Socket.IO requests ----------------------------------------------------------


sio_payloads = st.one_of(
    st.none(), json_values, requests, st.binary(max_size=20), ids, st.text()
)


@EXAMPLES
@given(
    event_name=st.sampled_from(["subscribe", "get_status", "request_logs"]),
    payload=sio_payloads,
)
async def test_any_socketio_request_is_acked_with_an_object(
    sio_client: SIOClient, event_name: str, payload: Any
) -> None:
    """subscribe, get_status and request_logs ack with a dict, whatever they get."""
    ack = await sio_client.call(event_name, payload)
    assert isinstance(ack, dict), ack
    event(f"{event_name} -> {ack.get('error') or ack.get('type') or ack.get('ok')}")
    if ack.get("ok") is False or ack.get("type") == "error":
        code = ack.get("error") or ack["data"]["code"]
        assert code in ERROR_CODES, ack
    pong = await sio_client.call("ping")
    assert pong["type"] == "pong"
