"""A subscriber that records what it is sent, and publications in one line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from realtime.bus.bus import Bus
from realtime.bus.memory import MemoryBackend
from realtime.protocol.envelope import Message
from realtime.protocol.filters import ACCEPT_ALL, EventFilter
from realtime.protocol.publication import PublishItem, parse_publications


@dataclass(eq=False)
class Recorder:
    """A connection as the bus sees it; keeps every message sent to it."""

    user_id: str | None = None
    events: EventFilter = ACCEPT_ALL
    messages: list[Message] = field(default_factory=list)

    def send(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def offsets(self) -> list[int | None]:
        return [message.offset for message in self.messages]

    @property
    def types(self) -> list[str]:
        return [message.type for message in self.messages]


def item(channel: str, type: str = "execution_update", **fields: Any) -> PublishItem:
    """One publication to one channel, validated as the API validates it."""
    [[parsed]] = parse_publications({"channel": channel, "type": type, **fields})
    return parsed


def memory(
    history_size: int = 100, history_ttl: float = 3600, idempotency_ttl: float = 300
) -> MemoryBackend:
    return MemoryBackend(
        history_size=history_size,
        history_ttl=history_ttl,
        idempotency_ttl=idempotency_ttl,
    )


async def started_bus(**options: Any) -> Bus:
    bus = Bus(memory(**options))
    await bus.start()
    return bus
