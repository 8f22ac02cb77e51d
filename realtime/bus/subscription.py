"""Who follows what: subscribers and their per-channel subscriptions."""

from __future__ import annotations

from typing import Protocol

from realtime.protocol.envelope import Message
from realtime.protocol.filters import ACCEPT_ALL, EventFilter


class Subscriber(Protocol):
    """One client connection, as the bus sees it, whatever its edge.

    ``send`` must not block: it queues the message for the connection's writer.
    """

    @property
    def user_id(self) -> str | None: ...

    @property
    def events(self) -> EventFilter: ...

    def send(self, message: Message) -> None: ...


class Subscription:
    """One subscriber following one channel.

    It remembers the last offset delivered and drops anything at or below it,
    so a message that reaches it both from history and live arrives once.
    While ``pending`` is a list the subscription is still catching up: live
    messages wait there until the history has been sent.
    """

    __slots__ = ("channel", "epoch", "events", "offset", "pending", "subscriber")

    def __init__(
        self, subscriber: Subscriber, channel: str, events: EventFilter = ACCEPT_ALL
    ) -> None:
        self.subscriber = subscriber
        self.channel = channel
        self.events = events
        self.epoch: str | None = None
        self.offset = 0
        self.pending: list[Message] | None = []

    def offer(self, message: Message) -> bool:
        """Take a live message; true when it went out to the subscriber."""
        if self.pending is not None:
            self.pending.append(message)
            return False
        offset = message.offset
        assert offset is not None
        if message.epoch == self.epoch:
            if offset <= self.offset:
                return False
        else:
            # The channel's history started again (a restart or a flush):
            # offsets from the old generation say nothing about the new one.
            self.epoch = message.epoch
        self.offset = offset
        return self.forward(message)

    def advance(self, message: Message) -> bool:
        """Offer a message of the catch-up itself, while live ones are held."""
        pending, self.pending = self.pending, None
        try:
            return self.offer(message)
        finally:
            self.pending = pending

    def forward(self, message: Message) -> bool:
        # Filters that accept everything are skipped by identity: this runs
        # once per recipient of every publication.
        events = self.events
        if events is not ACCEPT_ALL and not events.accepts(message.type):
            return False
        subscriber = self.subscriber
        events = subscriber.events
        if events is not ACCEPT_ALL and not events.accepts(message.type):
            return False
        subscriber.send(message)
        return True
