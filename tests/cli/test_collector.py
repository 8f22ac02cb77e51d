"""``realtime serve`` tunes Python's garbage collector; importing the app does not."""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator

import pytest

from realtime.collector import freeze_startup_objects, set_young_threshold
from tests.support.cli import clean_env, port_of, realtime_running, run_realtime

FROZEN = re.compile(r"collector: startup objects frozen frozen=(\d+) threshold=(\d+)")


@pytest.fixture
def collector_restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


async def _frozen_line(**env: str) -> tuple[int, int]:
    settings = clean_env(REALTIME_LOG_LEVEL="DEBUG", **env)
    args = ("serve", "--host", "127.0.0.1", "--port", "0")
    async with realtime_running(*args, env=settings, merge_stderr=True) as served:
        _, lines = await port_of(served)
        while not (match := FROZEN.search(lines[-1])):
            lines.append(await served.line())
    return int(match.group(1)), int(match.group(2))


async def test_serve_freezes_its_startup_objects_at_the_default_threshold() -> None:
    """Once serving, the process has frozen its imports and collects every 7000."""
    frozen, threshold = await _frozen_line()
    assert frozen > 10_000  # the imported modules alone are tens of thousands
    assert threshold == 7000


async def test_the_threshold_is_a_setting() -> None:
    """REALTIME_GC_THRESHOLD sets the young generation's threshold."""
    _, threshold = await _frozen_line(REALTIME_GC_THRESHOLD="2500")
    assert threshold == 2500


@pytest.mark.parametrize("value", ["5", "-1", "many", "2000000"])
async def test_a_bad_threshold_is_refused_at_start(value: str) -> None:
    """A threshold out of 100..1,000,000 stops the command with the setting named."""
    finished = await run_realtime(
        "serve", "--port", "0", env=clean_env(REALTIME_GC_THRESHOLD=value)
    )
    assert finished.returncode != 0
    assert "invalid REALTIME_ settings" in finished.stderr
    assert "gc_threshold" in finished.stderr


def test_the_functions_set_the_threshold_and_freeze(collector_restored: None) -> None:
    """Only the youngest generation's threshold changes; live objects are frozen."""
    _, middle, oldest = gc.get_threshold()
    set_young_threshold(4321)
    assert gc.get_threshold() == (4321, middle, oldest)
    freeze_startup_objects()
    assert gc.get_freeze_count() > 0


def test_importing_the_app_leaves_the_collector_alone() -> None:
    """create_app (for mounting under any server) changes nothing of the collector."""
    from realtime.app import create_app

    before = (gc.get_threshold(), gc.get_freeze_count())
    create_app()
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
