"""SlimQueue and SlimEvent behave as asyncio's Queue and Event do."""

from __future__ import annotations

import asyncio
import sys

import pytest

from realtime.edges.slim import SlimEvent, SlimQueue


async def test_items_come_out_in_order_and_get_waits_for_the_next() -> None:
    queue: SlimQueue[int] = SlimQueue()
    for n in range(3):
        await queue.put(n)
    assert queue.qsize() == 3
    assert not queue.empty()
    assert not queue.full()
    assert [await queue.get() for _ in range(3)] == [0, 1, 2]
    assert queue.empty()

    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not getter.done()
    queue.put_nowait(7)
    assert await asyncio.wait_for(getter, 1) == 7


async def test_get_nowait_on_an_empty_queue_raises_queue_empty() -> None:
    queue: SlimQueue[int] = SlimQueue()
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()
    queue.put_nowait(1)
    assert queue.get_nowait() == 1


async def test_each_item_goes_to_one_waiting_getter_first_come_first_served() -> None:
    queue: SlimQueue[str] = SlimQueue()
    getters = [asyncio.create_task(queue.get()) for _ in range(3)]
    await asyncio.sleep(0)
    for item in "abc":
        queue.put_nowait(item)
    assert await asyncio.wait_for(asyncio.gather(*getters), 1) == ["a", "b", "c"]


async def test_a_cancelled_getter_loses_no_item() -> None:
    queue: SlimQueue[int] = SlimQueue()
    first = asyncio.create_task(queue.get())
    second = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait(1)  # wakes the first getter ...
    first.cancel()  # ... which is cancelled before it runs
    assert await asyncio.wait_for(second, 1) == 1
    assert first.cancelled()
    assert queue.empty()


async def test_a_getter_cancelled_while_waiting_leaves_the_queue_usable() -> None:
    queue: SlimQueue[int] = SlimQueue()
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    getter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await getter
    queue.put_nowait(5)
    assert await asyncio.wait_for(queue.get(), 1) == 5


async def test_join_waits_until_every_item_is_done() -> None:
    queue: SlimQueue[int] = SlimQueue()
    await asyncio.wait_for(queue.join(), 1)  # nothing unfinished
    queue.put_nowait(1)
    queue.put_nowait(2)
    joined = asyncio.create_task(queue.join())
    await queue.get()
    queue.task_done()
    await asyncio.sleep(0)
    assert not joined.done()
    await queue.get()
    queue.task_done()
    await asyncio.wait_for(joined, 1)
    with pytest.raises(ValueError, match="too many"):
        queue.task_done()


async def test_items_is_what_waits_oldest_first() -> None:
    queue: SlimQueue[str] = SlimQueue()
    queue.put_nowait("x")
    queue.put_nowait("y")
    assert list(queue.items) == ["x", "y"]
    assert "size=2" in repr(queue)


async def test_event_wakes_every_waiter_and_stays_set_until_cleared() -> None:
    event = SlimEvent()
    assert not event.is_set()
    waiters = [asyncio.create_task(event.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    event.set()
    assert await asyncio.wait_for(asyncio.gather(*waiters), 1) == [True] * 3
    assert await asyncio.wait_for(event.wait(), 1) is True
    event.clear()
    assert not event.is_set()
    assert "unset" in repr(event)
    waiter = asyncio.create_task(event.wait())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    event.set()  # a cancelled waiter is not woken
    assert event.is_set()


async def test_idle_ones_are_smaller_than_asyncios() -> None:
    # The reason they exist: what an idle connection carries.
    def size(obj: object) -> int:
        held = [getattr(obj, name) for name in getattr(obj, "__slots__", ())]
        held += list(vars(obj).values()) if hasattr(obj, "__dict__") else []
        nested = [vars(h).values() for h in held if hasattr(h, "__dict__")]
        parts = held + [v for values in nested for v in values]
        return sys.getsizeof(obj) + sum(sys.getsizeof(part) for part in parts)

    assert size(SlimQueue()) * 4 < size(asyncio.Queue())
    assert size(SlimEvent()) * 4 < size(asyncio.Event())
