"""Event filters: which message types a subscription wants."""

from __future__ import annotations

from collections.abc import Iterable

# Group names the platform's frontend subscribes with, and the words they stand for.
_GROUPS = {
    "status_update": ("status", "update", "progress"),
    "log_update": ("log",),
}


class EventFilter:
    """Accepts a message type when it is listed or matches a listed group.

    An empty filter accepts everything.
    """

    __slots__ = ("_exact", "_words", "events")

    def __init__(self, events: Iterable[str] = ()) -> None:
        self.events: tuple[str, ...] = tuple(dict.fromkeys(events))
        self._exact = frozenset(self.events)
        self._words = tuple(
            word for event in self.events for word in _GROUPS.get(event, ())
        )

    def __bool__(self) -> bool:
        return bool(self.events)

    def accepts(self, message_type: str) -> bool:
        if not self.events or message_type in self._exact:
            return True
        return any(word in message_type for word in self._words)


ACCEPT_ALL = EventFilter()
