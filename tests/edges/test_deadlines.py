"""Deadlines: each item's action runs once its delay has passed, never before."""

from __future__ import annotations

import asyncio
import logging

import pytest

from realtime.edges.deadlines import Deadlines


async def test_actions_run_in_order_once_each_delay_has_passed() -> None:
    loop = asyncio.get_running_loop()
    ran: list[tuple[str, float]] = []
    deadlines: Deadlines[str] = Deadlines(lambda item: ran.append((item, loop.time())))
    started = loop.time()
    deadlines.add(0.1, "a")
    deadlines.add(0.1, "b")
    await asyncio.sleep(0.02)
    deadlines.add(0.1, "c")
    assert len(deadlines) == 3
    await asyncio.sleep(0.4)
    assert [item for item, _ in ran] == ["a", "b", "c"]
    assert all(at - started >= 0.1 for _, at in ran[:2])
    assert ran[2][1] - started >= 0.12
    assert len(deadlines) == 0


async def test_an_item_added_after_the_queue_emptied_still_runs() -> None:
    ran: list[int] = []
    deadlines: Deadlines[int] = Deadlines(ran.append)
    deadlines.add(0.01, 1)
    await asyncio.sleep(0.15)
    deadlines.add(0.01, 2)
    await asyncio.sleep(0.15)
    assert ran == [1, 2]


async def test_a_failing_action_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[int] = []

    def action(item: int) -> None:
        if item == 1:
            raise RuntimeError("boom")
        ran.append(item)

    deadlines: Deadlines[int] = Deadlines(action)
    with caplog.at_level(logging.ERROR, logger="realtime.edges.deadlines"):
        for item in (1, 2, 3):
            deadlines.add(0.01, item)
        await asyncio.sleep(0.15)
    assert ran == [2, 3]
    assert "deadline action failed" in caplog.text


async def test_a_longer_delay_ahead_holds_back_shorter_ones_late_never_early() -> None:
    loop = asyncio.get_running_loop()
    ran: list[tuple[str, float]] = []
    deadlines: Deadlines[str] = Deadlines(lambda item: ran.append((item, loop.time())))
    started = loop.time()
    deadlines.add(0.2, "long")
    deadlines.add(0.01, "short")
    await asyncio.sleep(0.4)
    assert [item for item, _ in ran] == ["long", "short"]
    assert all(at - started >= 0.2 for _, at in ran)


async def test_cancel_forgets_everything() -> None:
    ran: list[int] = []
    deadlines: Deadlines[int] = Deadlines(ran.append)
    deadlines.add(0.01, 1)
    deadlines.cancel()
    await asyncio.sleep(0.1)
    assert ran == []
    assert len(deadlines) == 0
