"""The shared backend: offsets, history and state in Redis, fan-out over pub/sub.

Every process runs one pub/sub listener. When its connection drops or goes
quiet, it reconnects with capped backoff and asks the bus to resynchronise:
the bus re-reads, from the history streams, everything after what its
subscriptions last saw, so no client misses what was published meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from realtime.bus.backend import (
    Backend,
    BackendUnavailable,
    Deliver,
    Page,
    PublishResult,
    Resync,
    new_epoch,
)
from realtime.bus.redis_scripts import (
    PUBLISH,
    READ,
    Keys,
    Limits,
    publish_call,
    publish_result,
)
from realtime.protocol.envelope import Message
from realtime.protocol.publication import PublishItem

logger = logging.getLogger(__name__)


def connect(url: str, *, retries: int = 1) -> aioredis.Redis:
    """A client that fails fast: a caller waiting on a dead Redis helps no one.

    One immediate retry covers a stale pooled socket after a Redis restart.
    """
    return aioredis.Redis.from_url(
        url,
        socket_connect_timeout=3,
        socket_timeout=5,
        retry=Retry(NoBackoff(), retries),
    )


class RedisBackend(Backend):
    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        limits: Limits,
        keepalive: float = 5.0,
        max_backoff: float = 5.0,
    ) -> None:
        self._url = url
        self._keys = Keys(prefix)
        self._limits = limits
        self._keepalive = keepalive
        self._max_backoff = max_backoff
        self._client = connect(url)
        # No retries for pub/sub: redis-py would reconnect and resubscribe
        # quietly, and whatever was published meanwhile would never be asked
        # for again. An error here makes the listener resynchronise.
        self._listener_client = connect(url, retries=0)
        self._publish = self._client.register_script(PUBLISH)
        self._read = self._client.register_script(READ)
        self._deliver: Deliver | None = None
        self._resync: Resync | None = None
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._connected = False

    @property
    def healthy(self) -> bool:
        return self._connected

    async def start(self, deliver: Deliver, resync: Resync | None = None) -> None:
        self._deliver = deliver
        self._resync = resync
        self._listener = asyncio.create_task(self._listen(), name="redis-listener")
        # Serve even if Redis is down at start: /health says so, and the
        # listener keeps trying. Wait a moment for the common case.
        try:
            await asyncio.wait_for(self._listening.wait(), timeout=5)
        except TimeoutError:
            logger.warning("redis is not reachable yet; serving degraded")

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self._client.aclose()
        await self._listener_client.aclose()

    # -- storing and reading ---------------------------------------------------

    async def publish(self, items: Sequence[PublishItem]) -> list[PublishResult]:
        calls = [publish_call(self._keys, self._limits, item) for item in items]
        try:
            # A transaction: a list of publications is stored whole or not at all.
            async with self._client.pipeline(transaction=True) as pipe:
                for keys, args in calls:
                    await self._publish(keys=keys, args=args, client=pipe)
                replies = await pipe.execute()
        except RedisError as error:
            raise BackendUnavailable(f"redis: {type(error).__name__}") from None
        return [
            publish_result(item.channel.name, reply)
            for item, reply in zip(items, replies, strict=True)
        ]

    async def read(self, channel: str, since: int | None = None) -> Page:
        keys = [self._keys.meta(channel), self._keys.history(channel)]
        args: list[str | int] = [
            new_epoch(),
            self._limits.history_ttl,
            "" if since is None else since,
        ]
        try:
            reply = await self._read(keys=keys, args=args)
        except RedisError as error:
            raise BackendUnavailable(f"redis: {type(error).__name__}") from None
        epoch_raw, offset_raw, state_raw, entries = reply
        epoch = _text(epoch_raw)
        offset = int(_text(offset_raw))
        state = Message.from_json(state_raw) if state_raw else None
        if since is None:
            return Page(offset, epoch, state)

        oldest_alive = (time.time() - self._limits.history_ttl) * 1000
        messages = []
        for _entry_id, fields in entries:
            decoded = {_text(k): v for k, v in _pairs(fields)}
            if int(_text(decoded.get("t", b"0"))) >= oldest_alive:
                messages.append(Message.from_json(decoded["m"]))
        first = messages[0].offset if messages else offset + 1
        complete = since <= offset and first == since + 1
        return Page(offset, epoch, state, messages, complete)

    # -- listening -------------------------------------------------------------

    async def _listen(self) -> None:
        backoff = 0.1
        while True:
            pubsub = self._listener_client.pubsub()
            try:
                await pubsub.subscribe(self._keys.topic)
                self._connected = True
                self._listening.set()
                logger.info("listening on redis", extra={"topic": self._keys.topic})
                if self._resync is not None:
                    await self._resync()
                backoff = 0.1
                await self._pump(pubsub)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, TimeoutError) as error:
                self._connected = False
                logger.warning(
                    "redis listener lost (%s: %s); retrying in %.1fs",
                    type(error).__name__,
                    error,
                    backoff,
                )
            except Exception:
                self._connected = False
                logger.exception("redis listener failed")
            finally:
                await _quietly_close(pubsub)
            await asyncio.sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, self._max_backoff)

    async def _pump(self, pubsub: Any) -> None:
        """Deliver messages until the connection fails or falls silent."""
        deliver = self._deliver
        assert deliver is not None
        last_heard = last_ping = time.monotonic()
        while True:
            received = await pubsub.get_message(timeout=1.0)
            now = time.monotonic()
            if received is not None:
                last_heard = now
                if received["type"] == "message":
                    _, _, json = received["data"].partition(b"\0")
                    deliver(Message.from_json(json))
                continue
            if now - last_heard > 3 * self._keepalive:
                # A silent socket can be dead without an error (a NAT or a
                # proxy dropped it); pings were sent and nothing came back.
                raise TimeoutError("redis pub/sub went silent")
            if now - last_ping > self._keepalive:
                last_ping = now
                await pubsub.ping()


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _pairs(fields: Any) -> list[tuple[Any, Any]]:
    if isinstance(fields, dict):
        return list(fields.items())
    return list(zip(fields[::2], fields[1::2], strict=True))


async def _quietly_close(pubsub: Any) -> None:
    with contextlib.suppress(RedisError, OSError):
        await pubsub.aclose()
