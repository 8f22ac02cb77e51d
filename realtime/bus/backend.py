"""The interface every backend (memory, Redis) implements.

A backend owns offsets, epochs, history, state, idempotency keys and
versions, and hands each stored message to ``deliver`` on every process that
runs a bus. It knows nothing of connections.
"""

from __future__ import annotations

import abc
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from realtime.protocol.envelope import Message
from realtime.protocol.publication import PublishItem

Deliver = Callable[[Message], None]
Resync = Callable[[], Awaitable[None]]


def new_epoch() -> str:
    """A short random name for a new generation of a channel's history."""
    return secrets.token_hex(4)


@dataclass(frozen=True, slots=True)
class PublishResult:
    channel: str
    offset: int | None
    stale: bool = False

    def as_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {"channel": self.channel, "offset": self.offset}
        if self.stale:
            result["stale"] = True
        return result


@dataclass(frozen=True, slots=True)
class Page:
    """A channel as read at one moment.

    ``messages`` are the kept messages with an offset above the ``since`` asked
    for (oldest first); ``complete`` is false when some message between
    ``since`` and the first of them is no longer kept.
    """

    offset: int
    epoch: str
    state: Message | None = None
    messages: list[Message] = field(default_factory=list)
    complete: bool = True


class BackendUnavailable(Exception):
    """The backend cannot be reached; the caller should answer 503."""


class Backend(abc.ABC):
    name: ClassVar[str]

    @abc.abstractmethod
    async def start(self, deliver: Deliver, resync: Resync | None = None) -> None:
        """Begin handing every published message to ``deliver``.

        A backend that can miss messages (a dropped connection) awaits
        ``resync`` once it is back, before delivering anything newer.
        """

    @abc.abstractmethod
    async def stop(self) -> None: ...

    @abc.abstractmethod
    async def publish(self, items: Sequence[PublishItem]) -> list[PublishResult]:
        """Store and deliver ``items`` in order; one result per item."""

    @abc.abstractmethod
    async def read(self, channel: str, since: int | None = None) -> Page:
        """The channel's offset, epoch and state, and history after ``since``."""

    @property
    def healthy(self) -> bool:
        return True
