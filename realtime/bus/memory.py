"""The embedded backend: everything in this process, nothing shared."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from realtime.bus.backend import (
    Backend,
    Deliver,
    Page,
    PublishResult,
    Resync,
    new_epoch,
)
from realtime.protocol.envelope import Message
from realtime.protocol.publication import PublishItem


@dataclass(slots=True)
class _Kept:
    message: Message
    stored_at: float


@dataclass(slots=True)
class _ChannelStore:
    epoch: str
    history: deque[_Kept]
    offset: int = 0
    state: Message | None = None
    state_version: int | None = None
    touched_at: float = field(default_factory=time.monotonic)
    # idempotency key -> (expires at, the first answer)
    answers: dict[str, tuple[float, PublishResult]] = field(default_factory=dict)


class MemoryBackend(Backend):
    name = "memory"

    def __init__(
        self, *, history_size: int, history_ttl: float, idempotency_ttl: float
    ) -> None:
        self._history_size = history_size
        self._history_ttl = history_ttl
        self._idempotency_ttl = idempotency_ttl
        self._stores: dict[str, _ChannelStore] = {}
        self._deliver: Deliver | None = None
        self._last_sweep = time.monotonic()

    async def start(self, deliver: Deliver, resync: Resync | None = None) -> None:
        self._deliver = deliver

    async def stop(self) -> None:
        self._deliver = None

    def _store(self, channel: str) -> _ChannelStore:
        store = self._stores.get(channel)
        if store is None:
            store = self._stores[channel] = _ChannelStore(
                epoch=new_epoch(), history=deque(maxlen=self._history_size)
            )
        return store

    async def publish(self, items: Sequence[PublishItem]) -> list[PublishResult]:
        now = time.monotonic()
        self._sweep(now)
        results = []
        for item in items:
            name = item.channel.name
            store = self._store(name)
            store.touched_at = now
            key = item.idempotency_key
            if key is not None:
                seen = store.answers.get(key)
                if seen is not None and seen[0] > now:
                    results.append(seen[1])
                    continue
            result = self._publish_one(store, name, item, now)
            if key is not None:
                store.answers[key] = (now + self._idempotency_ttl, result)
            results.append(result)
        return results

    def _publish_one(
        self, store: _ChannelStore, name: str, item: PublishItem, now: float
    ) -> PublishResult:
        if (
            item.state
            and item.version is not None
            and store.state_version is not None
            and item.version < store.state_version
        ):
            return PublishResult(name, None, stale=True)

        store.offset += 1
        message = Message(
            item.type,
            name,
            item.data,
            offset=store.offset,
            epoch=store.epoch,
            message=item.message,
        )
        store.history.append(_Kept(message, now))
        if item.state:
            store.state = message
            if item.version is not None:
                store.state_version = item.version
        if self._deliver is not None:
            self._deliver(message)
        return PublishResult(name, store.offset)

    async def read(self, channel: str, since: int | None = None) -> Page:
        store = self._store(channel)
        if since is None:
            return Page(store.offset, store.epoch, store.state)

        oldest_alive = time.monotonic() - self._history_ttl
        kept = [k.message for k in store.history if k.stored_at >= oldest_alive]
        messages = [m for m in kept if m.offset is not None and m.offset > since]
        first = messages[0].offset if messages else store.offset + 1
        complete = since <= store.offset and first == since + 1
        return Page(store.offset, store.epoch, store.state, messages, complete)

    def _sweep(self, now: float) -> None:
        # Forget channels idle for longer than the history lives, at most once a
        # minute, so a long run over many execution ids keeps memory flat. A
        # forgotten channel starts a new epoch if it is published to again.
        if now - self._last_sweep < 60:
            return
        self._last_sweep = now
        idle = [
            name
            for name, store in self._stores.items()
            if now - store.touched_at > self._history_ttl
        ]
        for name in idle:
            del self._stores[name]
        for store in self._stores.values():
            expired = [k for k, (until, _) in store.answers.items() if until <= now]
            for key in expired:
                del store.answers[key]
