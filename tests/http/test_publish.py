"""POST /api/publish on an open gateway (no API key: loopback callers only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.clients import (
    assert_http_serves,
    new_id,
    post_publish,
    publish,
    ws_joined,
)
from tests.support.envelopes import assert_published
from tests.support.gateway import RunningGateway

GATEWAY_TYPES = [
    "connection",
    "pong",
    "subscribed",
    "unsubscribed",
    "authenticated",
    "recovery",
    "error",
    "control_result",
    "system_metrics",
]


def _one(channel: str | None = None, **fields: Any) -> dict[str, Any]:
    if channel is None:
        channel = f"execution:{new_id()}"
    body = {"channel": channel, "type": "execution_update"}
    return {**body, **fields}


def _assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert body["error"] == code
    assert isinstance(body["detail"], str)


async def test_one_publication_is_answered_with_its_offset(
    gateway: RunningGateway,
) -> None:
    """200 {"results": [{"channel", "offset"}]}."""
    channel = f"execution:{new_id()}"
    response = await post_publish(gateway, _one(channel, data={"progress": 1}))
    assert response.status_code == 200
    assert response.json() == {"results": [{"channel": channel, "offset": 1}]}


async def test_a_published_message_reaches_the_channels_subscribers(
    gateway: RunningGateway,
) -> None:
    """What was published arrives with the offset the answer gave."""
    channel = f"execution:{new_id()}"
    async with ws_joined(gateway, "/ws/" + channel.replace(":", "/")) as client:
        [result] = await publish(gateway, channel, "execution_update", {"a": 1})
        message = await client.next()
    assert_published(message, "execution_update", channel, result["offset"])


async def test_a_list_is_answered_in_order_one_entry_per_channel(
    gateway: RunningGateway,
) -> None:
    """A list: one result per channel of each publication, in order."""
    first, second, third = (f"execution:{new_id()}" for _ in range(3))
    response = await post_publish(
        gateway,
        [
            _one(first),
            {"channels": [second, third], "type": "pipeline_update"},
            _one(first),
        ],
    )
    assert response.status_code == 200
    assert response.json()["results"] == [
        {"channel": first, "offset": 1},
        {"channel": second, "offset": 1},
        {"channel": third, "offset": 1},
        {"channel": first, "offset": 2},
    ]


async def test_channels_sends_one_message_to_several_channels(
    gateway: RunningGateway,
) -> None:
    """Each listed channel's subscribers get the same message."""
    pipeline, project = f"pipeline:{new_id()}", f"project:{new_id()}"
    async with (
        ws_joined(gateway, "/ws/" + pipeline.replace(":", "/")) as on_pipeline,
        ws_joined(gateway, "/ws/" + project.replace(":", "/")) as on_project,
    ):
        await publish(gateway, [pipeline, project], "pipeline_update", {"x": 1})
        got = [await on_pipeline.next(), await on_project.next()]
    assert [m["channel"] for m in got] == [pipeline, project]
    assert [m["data"] for m in got] == [{"x": 1}, {"x": 1}]


async def test_a_repeated_idempotency_key_publishes_nothing_more(
    gateway: RunningGateway,
) -> None:
    """A retry within 5 minutes answers with the first offsets and sends nothing."""
    channel = f"execution:{new_id()}"
    async with ws_joined(gateway, "/ws/" + channel.replace(":", "/")) as client:
        first = await publish(gateway, channel, "log_line", idempotency_key="task-1")
        again = await publish(gateway, channel, "log_line", idempotency_key="task-1")
        await publish(gateway, channel, "log_line", {"line": "next"})
        received = [await client.next() for _ in range(2)]
    assert again == first == [{"channel": channel, "offset": 1}]
    assert [m["offset"] for m in received] == [1, 2]
    assert received[1]["data"] == {"line": "next"}


async def test_an_idempotency_key_is_per_channel(gateway: RunningGateway) -> None:
    """The same key on another channel publishes there."""
    first, second = f"execution:{new_id()}", f"execution:{new_id()}"
    await publish(gateway, first, "log_line", idempotency_key="k")
    await publish(gateway, first, "log_line")
    results = await publish(gateway, second, "log_line", idempotency_key="k")
    assert results == [{"channel": second, "offset": 1}]


async def test_an_older_state_version_is_answered_stale(
    gateway: RunningGateway,
) -> None:
    """A late "running" (version 1) after "success" (version 2): stale, dropped."""
    channel = f"execution:{new_id()}"
    await publish(gateway, channel, "execution_status", {"s": "success"}, version=2)
    stale = await publish(
        gateway, channel, "execution_status", {"s": "running"}, version=1
    )
    assert stale == [{"channel": channel, "offset": None, "stale": True}]
    async with ws_joined(gateway, "/ws/" + channel.replace(":", "/")) as client:
        state = await client.next()
    assert state["data"] == {"s": "success"}


async def test_a_newer_state_version_replaces_the_state(
    gateway: RunningGateway,
) -> None:
    """A higher version is published and becomes the state."""
    channel = f"execution:{new_id()}"
    await publish(gateway, channel, "execution_status", {"s": "running"}, version=1)
    [result] = await publish(
        gateway, channel, "execution_status", {"s": "success"}, version=2
    )
    assert result == {"channel": channel, "offset": 2}


async def test_a_body_with_unicode_and_nesting_arrives_unchanged(
    gateway: RunningGateway,
) -> None:
    """data travels as given: nested objects, lists, unicode."""
    channel = f"execution:{new_id()}"
    data = {"line": "✓ bâtiment", "steps": [{"id": "1", "ok": True}], "n": None}
    async with ws_joined(gateway, "/ws/" + channel.replace(":", "/")) as client:
        await publish(gateway, channel, "log_line", data)
        assert (await client.next())["data"] == data


async def test_a_loopback_caller_may_publish_without_a_key(
    gateway: RunningGateway,
) -> None:
    """No API key configured: 127.0.0.1 publishes."""
    response = await post_publish(gateway, _one())
    assert response.status_code == 200


async def test_a_forwarded_remote_caller_may_not_publish_without_a_key(
    gateway: RunningGateway,
) -> None:
    """Behind the trusted proxy, the forwarded client address is judged: 401."""
    response = await post_publish(
        gateway, _one(), headers={"X-Forwarded-For": "203.0.113.9"}
    )
    _assert_error(response, 401, "unauthorized")
    await assert_http_serves(gateway)


@pytest.mark.parametrize(
    "channel",
    [
        "execution:a.b",
        "execution:",
        "execution",
        "build:1",
        "monitor:1",
        "execution:" + "x" * 65,
        "user:",
        "",
    ],
)
async def test_an_invalid_channel_is_422(gateway: RunningGateway, channel: str) -> None:
    """422 invalid_channel, and nothing is published."""
    response = await post_publish(gateway, _one(channel))
    _assert_error(response, 422, "invalid_channel")
    await assert_http_serves(gateway)


@pytest.mark.parametrize(
    "channels",
    [[], ["execution:1", "nope"], ["system", "execution:1"], ["pipeline:1"] * 2],
)
async def test_an_invalid_channels_list_is_422(
    gateway: RunningGateway, channels: list[str]
) -> None:
    """An empty, bad, repeated or system-mixed channels list is invalid_channel."""
    response = await post_publish(
        gateway, {"channels": channels, "type": "pipeline_update"}
    )
    _assert_error(response, 422, "invalid_channel")
    await assert_http_serves(gateway)


@pytest.mark.parametrize(
    "message_type",
    ["Execution", "1st", "_x", "has-dash", "a b", "a" * 65, "ünïcode", "", "x\n"],
)
async def test_a_malformed_type_is_422(
    gateway: RunningGateway, message_type: str
) -> None:
    """A type not matching ^[a-z][a-z0-9_]{0,63}$ is 422 invalid_type."""
    response = await post_publish(gateway, _one(type=message_type))
    _assert_error(response, 422, "invalid_type")
    await assert_http_serves(gateway)


@pytest.mark.parametrize("message_type", GATEWAY_TYPES)
async def test_a_type_the_gateway_sends_itself_is_422(
    gateway: RunningGateway, message_type: str
) -> None:
    """connection, pong, subscribed ... are the gateway's own: 422 reserved_type."""
    response = await post_publish(gateway, _one(type=message_type))
    _assert_error(response, 422, "reserved_type")
    await assert_http_serves(gateway)


@pytest.mark.parametrize("data", [[1, 2], "text", 42, True, None])
async def test_data_that_is_not_an_object_is_422(
    gateway: RunningGateway, data: object
) -> None:
    """data must be an object: 422 invalid_data."""
    response = await post_publish(gateway, _one(data=data))
    _assert_error(response, 422, "invalid_data")
    await assert_http_serves(gateway)


@pytest.mark.parametrize(
    "body",
    [
        {"type": "execution_update"},
        {"channel": "execution:1", "channels": ["execution:2"], "type": "x"},
        {"channel": "execution:1", "type": "x", "unknown_option": True},
        {"channel": "execution:1", "type": "x", "version": "two"},
        {"channel": "execution:1", "type": "x", "state": "perhaps"},
        [],
        [{"channel": "execution:1", "type": "x"}, "not an object"],
        "just a string",
        42,
    ],
)
async def test_a_malformed_publication_is_422(
    gateway: RunningGateway, body: object
) -> None:
    """Missing channel, both ways of naming it, unknown or mistyped fields: 422."""
    response = await post_publish(gateway, body)
    assert response.status_code == 422, response.text
    assert set(response.json()) == {"error", "detail"}
    await assert_http_serves(gateway)


@pytest.mark.parametrize("content", [b"not json", b"{", b"", b"\xff\xfe"])
async def test_a_body_that_is_not_json_is_400(
    gateway: RunningGateway, content: bytes
) -> None:
    """A body JSON cannot read: 400 invalid_json."""
    response = await post_publish(
        gateway, content=content, headers={"Content-Type": "application/json"}
    )
    _assert_error(response, 400, "invalid_json")
    await assert_http_serves(gateway)


async def test_a_rejected_list_publishes_nothing(gateway: RunningGateway) -> None:
    """One bad publication in a list: 422, and the good ones are not published."""
    channel = f"execution:{new_id()}"
    response = await post_publish(
        gateway, [_one(channel), _one(channel, type="Bad Type"), _one(channel)]
    )
    _assert_error(response, 422, "invalid_type")
    assert "publication 1" in response.json()["detail"]
    assert await publish(gateway, channel, "log_line") == [
        {"channel": channel, "offset": 1}
    ]


async def test_a_list_of_1000_is_accepted(gateway: RunningGateway) -> None:
    """Up to 1000 publications a request."""
    channel = f"execution:{new_id()}"
    response = await post_publish(gateway, [_one(channel)] * 1000)
    assert response.status_code == 200
    assert response.json()["results"][-1] == {"channel": channel, "offset": 1000}


async def test_a_list_over_1000_is_413_and_publishes_nothing(
    gateway: RunningGateway,
) -> None:
    """1001 publications: 413 payload_too_large."""
    channel = f"execution:{new_id()}"
    response = await post_publish(gateway, [_one(channel)] * 1001)
    _assert_error(response, 413, "payload_too_large")
    assert await publish(gateway, channel, "log_line") == [
        {"channel": channel, "offset": 1}
    ]


async def test_a_body_over_the_limit_is_413(gateway: RunningGateway) -> None:
    """Past REALTIME_MAX_PUBLISH_BYTES (1 MiB by default): 413."""
    body = _one(data={"blob": "x" * (1024 * 1024)})
    response = await post_publish(gateway, body)
    _assert_error(response, 413, "payload_too_large")
    await assert_http_serves(gateway)


async def test_a_streamed_body_over_the_limit_is_413(gateway: RunningGateway) -> None:
    """A chunked body with no Content-Length is cut off at the limit too."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"channel": "execution:1", "type": "x", "data": {"blob": "'
        for _ in range(80):
            yield b"x" * 16384
        yield b'"}}'

    async with httpx.AsyncClient(base_url=gateway.url) as http:
        response = await http.post("/api/publish", content=chunks())
    _assert_error(response, 413, "payload_too_large")
    await assert_http_serves(gateway)


async def test_a_body_just_under_the_limit_is_accepted(
    gateway: RunningGateway,
) -> None:
    """A publication that fits the limit is published."""
    response = await post_publish(gateway, _one(data={"blob": "x" * 1_000_000}))
    assert response.status_code == 200
