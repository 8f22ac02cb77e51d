"""Many deadlines of the same length, on one event-loop timer.

A heartbeat gives every connection a timer: the next PING in ``interval``
seconds, the PONG due ``timeout`` seconds after it. Since every connection
waits the same time, deadlines fall due in the order they were set, so a
FIFO and one loop timer for its head do the work of a ``TimerHandle`` per
connection (about 600 bytes each, with its bound method and arguments).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Deadlines this close together are handled by one timer callback: a little
# late, never early. Small against any heartbeat's seconds.
_BATCH = 0.05


class Deadlines(Generic[T]):
    """Calls ``action(item)`` once each item's delay has passed."""

    __slots__ = ("_action", "_due", "_timer")

    def __init__(self, action: Callable[[T], None]) -> None:
        self._action = action
        self._due: deque[tuple[float, T]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._due)

    def add(self, delay: float, item: T) -> None:
        loop = asyncio.get_running_loop()
        self._due.append((loop.time() + delay, item))
        if self._timer is None:
            self._arm(loop)

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        # The head is the earliest unless the delay changed while items
        # waited; then later ones wait for it, which is late, not early.
        self._timer = loop.call_at(self._due[0][0] + _BATCH, self._fire)

    def _fire(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        due = self._due
        while due and due[0][0] <= now:
            _, item = due.popleft()
            try:
                self._action(item)
            except Exception:
                logger.exception("deadline action failed")
        if due:
            self._arm(loop)

    def cancel(self) -> None:
        """Forget every deadline (the loop is shutting down)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._due.clear()
