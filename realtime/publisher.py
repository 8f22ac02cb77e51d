"""Publishing from Python: the platform's Django code and Celery tasks.

``Publisher`` is for synchronous code, ``AsyncPublisher`` for asyncio. Both
validate a publication the way the gateway does before sending it, so a bad
call fails in the caller with :class:`PublishError` rather than somewhere
else later. They send through ``POST /api/publish``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import httpx

from realtime.bus.backend import PublishResult
from realtime.protocol.errors import ProtocolError
from realtime.protocol.publication import check_encodable, parse_publications

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


def _validate(bodies: list[dict[str, Any]]) -> None:
    try:
        parse_publications(bodies)
        for body in bodies:
            if isinstance(body.get("data"), dict):
                check_encodable(body["data"])
    except ProtocolError as error:
        raise PublishError(error.code.value, error.detail) from None


def _results(response: httpx.Response) -> list[PublishResult]:
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


def _settings_from_env(url: str | None, api_key: str | None) -> tuple[str, str | None]:
    url = url or os.environ.get("REALTIME_PUBLISH_URL") or DEFAULT_URL
    api_key = api_key or os.environ.get("REALTIME_API_KEY") or None
    return url.rstrip("/"), api_key


class Publisher:
    """Publishes from synchronous code; safe to share between threads."""

    def __init__(
        self, url: str | None = None, *, api_key: str | None = None, timeout: float = 10
    ) -> None:
        self.url, key = _settings_from_env(url, api_key)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(headers=headers, timeout=timeout)

    def publish(
        self,
        channel: str | Sequence[str],
        type: str,
        data: dict[str, Any] | None = None,
        **options: Any,
    ) -> list[PublishResult]:
        """Publish one message; one result per channel."""
        return self.publish_many([publication(channel, type, data, **options)])

    def publish_many(self, bodies: list[dict[str, Any]]) -> list[PublishResult]:
        """Publish several publications at once: all of them, or none."""
        _validate(bodies)
        try:
            response = self._client.post(f"{self.url}/api/publish", json=bodies)
        except httpx.HTTPError as error:
            raise PublishError("unreachable", f"{self.url}: {error}") from error
        return _results(response)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncPublisher:
    """Publishes from asyncio code."""

    def __init__(
        self, url: str | None = None, *, api_key: str | None = None, timeout: float = 10
    ) -> None:
        self.url, key = _settings_from_env(url, api_key)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.AsyncClient(headers=headers, timeout=timeout)

    async def publish(
        self,
        channel: str | Sequence[str],
        type: str,
        data: dict[str, Any] | None = None,
        **options: Any,
    ) -> list[PublishResult]:
        return await self.publish_many([publication(channel, type, data, **options)])

    async def publish_many(self, bodies: list[dict[str, Any]]) -> list[PublishResult]:
        _validate(bodies)
        try:
            response = await self._client.post(f"{self.url}/api/publish", json=bodies)
        except httpx.HTTPError as error:
            raise PublishError("unreachable", f"{self.url}: {error}") from error
        return _results(response)

    async def close(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> AsyncPublisher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
