"""asyncio's Queue and Event without the memory they hold before anyone waits.

An ``asyncio.Queue`` allocates four deques when it is made (its items, its
getters, its putters and its join event's waiters) and an ``asyncio.Event``
one: about 2.5 KiB and 0.6 KiB that every connection carries although most
connections spend their life idle. These keep their items in a list and
create a waiter list only when someone waits, with the same semantics for
the subset the edges and the servers under them use (an unbounded queue).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


def _wake_first(waiters: list[asyncio.Future[None]] | None) -> None:
    while waiters:
        waiter = waiters.pop(0)
        if not waiter.done():
            waiter.set_result(None)
            return


def _wake_all(waiters: list[asyncio.Future[None]] | None) -> None:
    if waiters:
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        waiters.clear()


class SlimQueue(Generic[T]):
    """An unbounded FIFO queue with ``asyncio.Queue``'s methods and behaviour."""

    __slots__ = ("_getters", "_items", "_joiners", "_unfinished", "on_put")

    def __init__(self) -> None:
        self._items: list[T] = []
        # Called after each put: lets a consumer start only when there is work.
        self.on_put: Callable[[], None] | None = None
        self._getters: list[asyncio.Future[None]] | None = None
        self._joiners: list[asyncio.Future[None]] | None = None
        self._unfinished = 0

    def __repr__(self) -> str:
        return f"<SlimQueue size={len(self._items)} unfinished={self._unfinished}>"

    @property
    def items(self) -> Sequence[T]:
        """What waits, oldest first (a view: do not keep it)."""
        return self._items

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return False

    def put_nowait(self, item: T) -> None:
        self._items.append(item)
        self._unfinished += 1
        _wake_first(self._getters)
        if self.on_put is not None:
            self.on_put()

    async def put(self, item: T) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> T:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.pop(0)

    async def get(self) -> T:
        while not self._items:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if self._getters is None:
                self._getters = []
            self._getters.append(waiter)
            try:
                await waiter
            except BaseException:
                waiter.cancel()
                with contextlib.suppress(ValueError):
                    self._getters.remove(waiter)
                if self._items and not waiter.cancelled():
                    # Woken for an item, then cancelled: the next getter takes it.
                    _wake_first(self._getters)
                raise
        return self._items.pop(0)

    def task_done(self) -> None:
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0:
            _wake_all(self._joiners)

    async def join(self) -> None:
        if self._unfinished:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if self._joiners is None:
                self._joiners = []
            self._joiners.append(waiter)
            await waiter


class SlimEvent:
    """``asyncio.Event``: a flag that tasks can wait for."""

    __slots__ = ("_value", "_waiters")

    def __init__(self) -> None:
        self._value = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def __repr__(self) -> str:
        return f"<SlimEvent {'set' if self._value else 'unset'}>"

    def is_set(self) -> bool:
        return self._value

    def set(self) -> None:
        if not self._value:
            self._value = True
            _wake_all(self._waiters)

    def clear(self) -> None:
        self._value = False

    async def wait(self) -> bool:
        if self._value:
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
            return True
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
