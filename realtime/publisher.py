"""Publishing from Python: the platform's Django code and Celery tasks.

``Publisher`` is for synchronous code, ``AsyncPublisher`` for asyncio. Both
validate a publication exactly as the gateway does, so a bad call fails in
the caller with :class:`PublishError`. Where the gateway shares a Redis
(``REALTIME_REDIS_URL``), they write straight into it, with no HTTP hop and no
gateway process needed; otherwise they ``POST /api/publish``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import httpx
import redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from realtime.bus.backend import BackendUnavailable, PublishResult
from realtime.bus.redis import RedisBackend
from realtime.bus.redis_scripts import (
    PUBLISH,
    Keys,
    Limits,
    publish_call,
    publish_result,
)
from realtime.protocol.errors import ProtocolError
from realtime.protocol.publication import (
    PublishItem,
    encoded_size,
    parse_publications,
)
from realtime.settings import Settings

DEFAULT_URL = "http://127.0.0.1:8001"


class PublishError(Exception):
    """A publication refused, locally or by the gateway: ``code`` says why."""

    def __init__(self, code: str, detail: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.status = status


def publication(
    channel: str | Sequence[str],
    type: str,
    data: dict[str, Any] | None = None,
    *,
    message: str | None = None,
    state: bool | None = None,
    idempotency_key: str | None = None,
    version: int | None = None,
) -> dict[str, Any]:
    """One publication as the API takes it, leaving out what was not given."""
    body: dict[str, Any] = {"type": type, "data": {} if data is None else data}
    if isinstance(channel, str):
        body["channel"] = channel
    else:
        body["channels"] = list(channel)
    optional = {
        "message": message,
        "state": state,
        "idempotency_key": idempotency_key,
        "version": version,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def _items(bodies: list[dict[str, Any]], limit: int) -> list[PublishItem]:
    try:
        batches = parse_publications(bodies)
        size = sum(encoded_size(body.get("data", {})) for body in bodies)
    except ProtocolError as error:
        raise PublishError(error.code.value, error.detail) from None
    if size > limit:
        raise PublishError("payload_too_large", f"the data exceeds {limit} bytes")
    return [item for batch in batches for item in batch]


def _http_results(response: httpx.Response) -> list[PublishResult]:
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code != 200 or not isinstance(answer, dict):
        code, detail = "http_error", response.text[:500]
        if isinstance(answer, dict):
            code = str(answer.get("error", code))
            detail = str(answer.get("detail", detail))
        raise PublishError(code, detail, response.status_code)
    return [
        PublishResult(r["channel"], r["offset"], bool(r.get("stale", False)))
        for r in answer["results"]
    ]


class _Target:
    """Where publications go, decided once from arguments and environment."""

    def __init__(
        self, url: str | None, api_key: str | None, redis_url: str | None
    ) -> None:
        settings = Settings()
        self.settings = settings
        if redis_url is None and url is None:
            # Only the gateway's own setting: a bare REDIS_URL in a Django
            # process usually names its cache or broker, not the gateway's Redis.
            redis_url = os.environ.get("REALTIME_REDIS_URL") or None
        self.redis_url = redis_url
        self.url = (
            url or os.environ.get("REALTIME_PUBLISH_URL") or DEFAULT_URL
        ).rstrip("/")
        key = api_key or (
            settings.api_key.get_secret_value() if settings.api_key else None
        )
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.keys = Keys(settings.redis_prefix)
        self.limits = Limits(
            settings.history_size, settings.history_ttl, settings.idempotency_ttl
        )


class Publisher:
    """Publishes from synchronous code; safe to share between threads."""

    def __init__(
        self,
        url: str | None = None,
        *,
        api_key: str | None = None,
        redis_url: str | None = None,
        timeout: float = 10,
    ) -> None:
        target = self._target = _Target(url, api_key, redis_url)
        self._http: httpx.Client | None = None
        self._redis: redis.Redis | None = None
        if target.redis_url:
            self._redis = redis.Redis.from_url(
                target.redis_url,
                socket_connect_timeout=3,
                socket_timeout=timeout,
                retry=Retry(NoBackoff(), 1),
            )
            self._script = self._redis.register_script(PUBLISH)
        else:
            self._http = httpx.Client(headers=target.headers, timeout=timeout)

    def publish(
        self,
        channel: str | Sequence[str],
        type: str,
        data: dict[str, Any] | None = None,
        **options: Any,
    ) -> list[PublishResult]:
        """Publish one message; one result per channel.

        ``options`` are ``message``, ``state``, ``idempotency_key``, ``version``.
        """
        return self.publish_many([publication(channel, type, data, **options)])

    def publish_many(self, bodies: list[dict[str, Any]]) -> list[PublishResult]:
        """Publish several publications at once; nothing if any is invalid."""
        items = _items(bodies, self._target.settings.max_publish_bytes)
        if self._redis is not None:
            return self._to_redis(self._redis, items)
        assert self._http is not None
        try:
            response = self._http.post(f"{self._target.url}/api/publish", json=bodies)
        except httpx.HTTPError as error:
            raise PublishError("unreachable", f"{self._target.url}: {error}") from None
        return _http_results(response)

    def _to_redis(
        self, client: redis.Redis, items: list[PublishItem]
    ) -> list[PublishResult]:
        target = self._target
        try:
            with client.pipeline(transaction=True) as pipe:
                for item in items:
                    keys, args = publish_call(target.keys, target.limits, item)
                    self._script(keys=keys, args=args, client=pipe)
                replies = pipe.execute()
        except RedisError as error:
            raise PublishError("backend_unavailable", f"redis: {error}") from None
        return [
            publish_result(item.channel.name, reply)
            for item, reply in zip(items, replies, strict=True)
        ]

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        if self._redis is not None:
            self._redis.close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncPublisher:
    """Publishes from asyncio code."""

    def __init__(
        self,
        url: str | None = None,
        *,
        api_key: str | None = None,
        redis_url: str | None = None,
        timeout: float = 10,
    ) -> None:
        target = self._target = _Target(url, api_key, redis_url)
        self._http: httpx.AsyncClient | None = None
        self._backend: RedisBackend | None = None
        if target.redis_url:
            self._backend = RedisBackend(
                target.redis_url, prefix=target.keys.prefix, limits=target.limits
            )
        else:
            self._http = httpx.AsyncClient(headers=target.headers, timeout=timeout)

    async def publish(
        self,
        channel: str | Sequence[str],
        type: str,
        data: dict[str, Any] | None = None,
        **options: Any,
    ) -> list[PublishResult]:
        return await self.publish_many([publication(channel, type, data, **options)])

    async def publish_many(self, bodies: list[dict[str, Any]]) -> list[PublishResult]:
        items = _items(bodies, self._target.settings.max_publish_bytes)
        if self._backend is not None:
            try:
                return await self._backend.publish(items)
            except BackendUnavailable as error:
                raise PublishError("backend_unavailable", str(error)) from None
        assert self._http is not None
        try:
            response = await self._http.post(
                f"{self._target.url}/api/publish", json=bodies
            )
        except httpx.HTTPError as error:
            raise PublishError("unreachable", f"{self._target.url}: {error}") from None
        return _http_results(response)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        if self._backend is not None:
            await self._backend.stop()

    async def __aenter__(self) -> AsyncPublisher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
