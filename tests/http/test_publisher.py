"""The Python publisher, synchronous (a Celery task) and asyncio, over HTTP."""

from __future__ import annotations

import asyncio
import socket

import pytest

from realtime.bus.backend import PublishResult
from realtime.publisher import AsyncPublisher, Publisher, PublishError, publication
from tests.support.clients import new_id, publish, ws_joined
from tests.support.gateway import RunningGateway
from tests.support.tokens import API_KEY


def _closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _publish_sync(
    url: str, *args: object, api_key: str | None = None, **kw: object
) -> list[PublishResult]:
    with Publisher(url, api_key=api_key) as publisher:
        return publisher.publish(*args, **kw)  # type: ignore[arg-type]


async def test_the_sync_publisher_publishes(gateway: RunningGateway) -> None:
    """Publisher.publish returns one result per channel; subscribers get it."""
    channel = f"execution:{new_id()}"
    async with ws_joined(gateway, "/ws/" + channel.replace(":", "/")) as client:
        results = await asyncio.to_thread(
            _publish_sync, gateway.url, channel, "log_line", {"line": "from celery"}
        )
        message = await client.next()
    assert results == [PublishResult(channel, 1)]
    assert (message["type"], message["data"]) == ("log_line", {"line": "from celery"})


async def test_the_sync_publisher_publishes_a_list(gateway: RunningGateway) -> None:
    """publish_many sends several publications, answered in order."""
    first, second = f"execution:{new_id()}", f"pipeline:{new_id()}"
    bodies = [
        publication(first, "log_line", {"n": 1}),
        publication([second, first], "pipeline_update", message="hello"),
    ]

    def run() -> list[PublishResult]:
        with Publisher(gateway.url) as publisher:
            return publisher.publish_many(bodies)

    results = await asyncio.to_thread(run)
    assert [(r.channel, r.offset) for r in results] == [
        (first, 1),
        (second, 1),
        (first, 2),
    ]


async def test_the_sync_publisher_passes_options(gateway: RunningGateway) -> None:
    """state, version and idempotency_key mean what they mean over HTTP."""
    channel = f"execution:{new_id()}"

    def run() -> list[list[PublishResult]]:
        with Publisher(gateway.url) as publisher:
            return [
                publisher.publish(channel, "execution_status", version=2),
                publisher.publish(channel, "execution_status", version=1),
                publisher.publish(channel, "log_line", idempotency_key="k"),
                publisher.publish(channel, "log_line", idempotency_key="k"),
            ]

    fresh, stale, keyed, repeated = await asyncio.to_thread(run)
    assert fresh == [PublishResult(channel, 1)]
    assert stale == [PublishResult(channel, None, stale=True)]
    assert keyed == repeated == [PublishResult(channel, 2)]


async def test_the_async_publisher_publishes(gateway: RunningGateway) -> None:
    """AsyncPublisher.publish from asyncio; subscribers get it."""
    channel = f"project:{new_id()}"
    async with ws_joined(gateway, "/ws/" + channel.replace(":", "/")) as client:
        async with AsyncPublisher(gateway.url) as publisher:
            results = await publisher.publish(
                channel, "push", {"ref": "main"}, message="pushed"
            )
        message = await client.next()
    assert results == [PublishResult(channel, 1)]
    assert (message["data"], message["message"]) == ({"ref": "main"}, "pushed")


async def test_the_async_publisher_publishes_a_list(gateway: RunningGateway) -> None:
    """AsyncPublisher.publish_many answers per channel, in order."""
    channel = f"execution:{new_id()}"
    async with AsyncPublisher(gateway.url) as publisher:
        results = await publisher.publish_many(
            [publication(channel, "log_line"), publication(channel, "log_line")]
        )
    assert [r.offset for r in results] == [1, 2]


async def test_the_async_publisher_reports_stale_state(
    gateway: RunningGateway,
) -> None:
    """An older version comes back stale, with no offset."""
    channel = f"execution:{new_id()}"
    async with AsyncPublisher(gateway.url) as publisher:
        await publisher.publish(channel, "execution_status", version=5)
        [result] = await publisher.publish(channel, "execution_status", version=4)
    assert (result.offset, result.stale) == (None, True)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("execution:1", "Bad Type"), "invalid_type"),
        (("execution:1", "pong"), "reserved_type"),
        (("execution:a.b", "log_line"), "invalid_channel"),
        (("execution:1", "log_line", {"when": object()}), "invalid_data"),
    ],
)
async def test_a_bad_publication_fails_in_the_caller(
    args: tuple[object, ...], code: str
) -> None:
    """Refused locally, before any request: PublishError with the gateway's code."""
    url = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(PublishError) as sync_error:
        await asyncio.to_thread(_publish_sync, url, *args)
    async with AsyncPublisher(url) as publisher:
        with pytest.raises(PublishError) as async_error:
            await publisher.publish(*args)  # type: ignore[arg-type]
    assert sync_error.value.code == async_error.value.code == code
    assert sync_error.value.status is None


async def test_a_wrong_api_key_is_refused_with_401(
    secure_gateway: RunningGateway,
) -> None:
    """The gateway's refusal comes back as PublishError unauthorized, 401."""
    channel = f"execution:{new_id()}"
    with pytest.raises(PublishError) as sync_error:
        await asyncio.to_thread(
            _publish_sync, secure_gateway.url, channel, "log_line", api_key="wrong"
        )
    async with AsyncPublisher(secure_gateway.url, api_key="wrong") as publisher:
        with pytest.raises(PublishError) as async_error:
            await publisher.publish(channel, "log_line")
    for error in (sync_error.value, async_error.value):
        assert (error.code, error.status) == ("unauthorized", 401)


async def test_the_api_key_comes_from_the_environment(
    secure_gateway: RunningGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """REALTIME_API_KEY is used when no key is passed."""
    monkeypatch.setenv("REALTIME_API_KEY", API_KEY)
    channel = f"execution:{new_id()}"
    results = await asyncio.to_thread(
        _publish_sync, secure_gateway.url, channel, "log_line"
    )
    async with AsyncPublisher(secure_gateway.url) as publisher:
        more = await publisher.publish(channel, "log_line")
    assert [r.offset for r in results + more] == [1, 2]


async def test_the_url_comes_from_the_environment(
    gateway: RunningGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """REALTIME_PUBLISH_URL is used when no URL is passed."""
    monkeypatch.setenv("REALTIME_PUBLISH_URL", gateway.url)
    monkeypatch.delenv("REALTIME_REDIS_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    channel = f"execution:{new_id()}"
    async with AsyncPublisher() as publisher:
        [result] = await publisher.publish(channel, "log_line")
    assert result.offset == 1
    assert await publish(gateway, channel, "log_line") == [
        {"channel": channel, "offset": 2}
    ]


async def test_an_unreachable_gateway_is_reported(gateway: RunningGateway) -> None:
    """Nothing listening: PublishError unreachable."""
    url = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(PublishError) as sync_error:
        await asyncio.to_thread(_publish_sync, url, "execution:1", "log_line")
    async with AsyncPublisher(url) as publisher:
        with pytest.raises(PublishError) as async_error:
            await publisher.publish("execution:1", "log_line")
    assert sync_error.value.code == async_error.value.code == "unreachable"
