"""The bus in the middle: edges subscribe, publishers publish, the backend stores."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from realtime.bus.backend import Backend, Page, PublishResult
from realtime.bus.subscription import Subscriber, Subscription
from realtime.protocol.channels import SYSTEM, Channel, ChannelKind
from realtime.protocol.envelope import Message
from realtime.protocol.filters import ACCEPT_ALL, EventFilter
from realtime.protocol.publication import PublishItem

logger = logging.getLogger(__name__)

_USER_PREFIX = ChannelKind.USER.value + ":"

DispatchHook = Callable[[Message, int], None]


@dataclass(slots=True)
class Join:
    """A subscription that has read its channel but not yet sent anything.

    ``catch_up`` is what the subscriber gets before live messages: the missed
    messages when recovering, else the channel's state. ``recovered`` is None
    when no recovery was asked for.
    """

    subscription: Subscription
    offset: int
    epoch: str
    recovered: bool | None
    catch_up: list[Message]


@dataclass(slots=True)
class BusStats:
    dispatched: int = 0
    delivered: int = 0


@dataclass(slots=True)
class _Registry:
    by_channel: dict[str, dict[Subscriber, Subscription]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    by_subscriber: dict[Subscriber, set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )
    connections: set[Subscriber] = field(default_factory=set)
    users: dict[str, set[Subscriber]] = field(default_factory=lambda: defaultdict(set))


class Bus:
    """Routes every message the backend hands over to the subscribers here."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.stats = BusStats()
        self.hooks: list[DispatchHook] = []
        self._registry = _Registry()
        # The last (epoch, offset) routed here on ``system`` and each ``user:``
        # channel with connections here: what a resync reads on from, since
        # the connections that receive those keep no offsets of their own.
        self._seen: dict[str, tuple[str | None, int]] = {}

    async def start(self) -> None:
        await self.backend.start(self._dispatch, self._resync)

    async def stop(self) -> None:
        await self.backend.stop()

    # -- publishing ---------------------------------------------------------

    async def publish(self, items: Sequence[PublishItem]) -> list[PublishResult]:
        return await self.backend.publish(items)

    async def read(self, channel: Channel | str, since: int | None = None) -> Page:
        return await self.backend.read(str(channel), since)

    # -- connections --------------------------------------------------------

    def attach(self, subscriber: Subscriber) -> None:
        """Let ``subscriber`` receive ``system`` and its user's messages."""
        registry = self._registry
        registry.connections.add(subscriber)
        if subscriber.user_id is not None:
            registry.users[subscriber.user_id].add(subscriber)

    def detach(self, subscriber: Subscriber) -> None:
        """Forget ``subscriber`` entirely: its connection is gone."""
        registry = self._registry
        registry.connections.discard(subscriber)
        user_id = subscriber.user_id
        if user_id is not None and user_id in registry.users:
            registry.users[user_id].discard(subscriber)
            if not registry.users[user_id]:
                del registry.users[user_id]
                self._seen.pop(_USER_PREFIX + user_id, None)
        for channel in registry.by_subscriber.pop(subscriber, ()):
            self._drop(subscriber, channel)

    @property
    def connection_count(self) -> int:
        return len(self._registry.connections)

    @property
    def channel_count(self) -> int:
        return len(self._registry.by_channel)

    @property
    def subscription_count(self) -> int:
        return sum(len(f) for f in self._registry.by_channel.values())

    def channels_of(self, subscriber: Subscriber) -> frozenset[str]:
        return frozenset(self._registry.by_subscriber.get(subscriber, ()))

    # -- subscriptions ------------------------------------------------------

    async def join(
        self,
        subscriber: Subscriber,
        channel: Channel,
        *,
        since: int | None = None,
        epoch: str | None = None,
        events: EventFilter = ACCEPT_ALL,
    ) -> Join:
        """Subscribe and read the channel; nothing is sent until :meth:`activate`.

        Live messages that arrive meanwhile are held, so the caller can send
        its own greeting first and the subscriber still misses nothing.
        """
        name = channel.name
        subscription = Subscription(subscriber, name, events)
        registry = self._registry
        registry.by_channel[name][subscriber] = subscription
        registry.by_subscriber[subscriber].add(name)
        try:
            page = await self.backend.read(name, since)
        except BaseException:
            self._forget(subscriber, name, subscription)
            raise

        recovered = None if since is None else epoch == page.epoch and page.complete
        if recovered:
            catch_up = page.messages
            subscription.offset = since or 0
        else:
            catch_up = [page.state] if page.state is not None else []
            subscription.offset = page.offset
        subscription.epoch = page.epoch
        return Join(subscription, page.offset, page.epoch, recovered, catch_up)

    def activate(
        self, join: Join, after_catch_up: Callable[[], None] | None = None
    ) -> None:
        """Send the catch-up, then ``after_catch_up``, then the held live messages."""
        subscription = join.subscription
        name = subscription.channel
        if self._registry.by_channel.get(name, {}).get(subscription.subscriber) is not (
            subscription
        ):
            return  # left, or subscribed again, while reading
        if join.recovered:
            for message in join.catch_up:
                subscription.advance(message)
            subscription.offset = max(subscription.offset, join.offset)
        else:
            for message in join.catch_up:
                subscription.forward(message)
        if after_catch_up is not None:
            after_catch_up()
        pending, subscription.pending = subscription.pending or [], None
        for message in pending:
            subscription.advance(message)

    def leave(self, subscriber: Subscriber, channel: Channel | str) -> bool:
        name = str(channel)
        joined = self._registry.by_subscriber.get(subscriber)
        if joined is None or name not in joined:
            return False
        joined.discard(name)
        self._drop(subscriber, name)
        return True

    def _forget(
        self, subscriber: Subscriber, name: str, subscription: Subscription
    ) -> None:
        registry = self._registry
        if registry.by_channel.get(name, {}).get(subscriber) is subscription:
            registry.by_subscriber[subscriber].discard(name)
            self._drop(subscriber, name)

    def _drop(self, subscriber: Subscriber, name: str) -> None:
        followers = self._registry.by_channel.get(name)
        if followers is None:
            return
        followers.pop(subscriber, None)
        if not followers:
            del self._registry.by_channel[name]

    async def _resync(self) -> None:
        """Deliver, from history, what the backend may have missed while away.

        Subscriptions drop what they already have, so re-reading a little
        too much is harmless; reading too little is what this prevents.
        """
        for name, followers in list(self._registry.by_channel.items()):
            live = [s for s in followers.values() if s.pending is None]
            if not live:
                continue
            current = await self.backend.read(name)
            if all(s.epoch == current.epoch for s in live):
                since = min(s.offset for s in live)
            else:
                since = 0  # the history started again: all of it is new
            page = await self.backend.read(name, since)
            if not page.complete:
                logger.warning(
                    "history no longer reaches back to what subscribers missed",
                    extra={"channel": name, "since": since},
                )
            # Only the subscriptions: ``system`` and ``user:`` connections are
            # caught up below, from what this process saw.
            for message in page.messages:
                for subscription in list(followers.values()):
                    subscription.offer(message)

        for name, (epoch, offset) in list(self._seen.items()):
            page = await self.backend.read(name, offset)
            if page.epoch != epoch:
                page = await self.backend.read(name, 0)
            for message in page.messages:
                self._dispatch(message)

    # -- delivery -----------------------------------------------------------

    def _dispatch(self, message: Message) -> None:
        channel = message.channel
        assert channel is not None
        registry = self._registry
        delivered = 0
        broadcast = channel == SYSTEM.name or channel.startswith(_USER_PREFIX)
        if broadcast and self._already_routed(message):
            return
        if channel == SYSTEM.name:
            # Everyone gets system; a connection that joined it to recover
            # takes it through its subscription, which drops duplicates.
            followers = registry.by_channel.get(channel, {})
            for subscriber in list(registry.connections):
                subscription = followers.get(subscriber)
                if subscription is not None:
                    delivered += subscription.offer(message)
                else:
                    delivered += self._to_one(message, subscriber)
        elif channel.startswith(_USER_PREFIX):
            users = registry.users.get(channel[len(_USER_PREFIX) :])
            if users:
                delivered = self._to_connections(message, users)
        else:
            subscriptions = registry.by_channel.get(channel)
            if subscriptions:
                for subscription in list(subscriptions.values()):
                    try:
                        delivered += subscription.offer(message)
                    except Exception:
                        logger.exception("delivery failed", extra={"channel": channel})
        self.stats.dispatched += 1
        self.stats.delivered += delivered
        logger.debug(
            "dispatched %s to %d", message, delivered, extra={"channel": channel}
        )
        for hook in self.hooks:
            hook(message, delivered)

    def _already_routed(self, message: Message) -> bool:
        """Record a broadcast message as seen; true if it was seen before."""
        channel = message.channel
        assert channel is not None
        offset = message.offset or 0
        seen = self._seen.get(channel)
        if seen is not None and seen[0] == message.epoch and offset <= seen[1]:
            return True
        is_user = channel.startswith(_USER_PREFIX)
        if not is_user or channel[len(_USER_PREFIX) :] in self._registry.users:
            self._seen[channel] = (message.epoch, offset)
        return False

    @classmethod
    def _to_connections(cls, message: Message, targets: set[Subscriber]) -> int:
        return sum(cls._to_one(message, subscriber) for subscriber in list(targets))

    @staticmethod
    def _to_one(message: Message, subscriber: Subscriber) -> bool:
        if not subscriber.events.accepts(message.type):
            return False
        try:
            subscriber.send(message)
        except Exception:
            logger.exception("delivery failed", extra={"channel": message.channel})
            return False
        return True

    def broadcast(self, channel: Channel, message: Message) -> int:
        """Send a message of the gateway's own to everyone following ``channel``.

        It has no offset, so it bypasses the subscriptions' bookkeeping.
        """
        followers = self._registry.by_channel.get(channel.name) or {}
        for subscription in list(followers.values()):
            subscription.subscriber.send(message)
        return len(followers)
