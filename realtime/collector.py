"""Python's cyclic garbage collector: how ``realtime serve`` sets it, and its pauses.

Every connection holds a few hundred long-lived objects, and a full
collection visits every tracked object there is. CPython runs one each time
the long-lived objects have grown by a quarter, so connecting ten thousand
clients took about a dozen, the last ones each stopping the event loop for
half a second (3 s of one core in all). Two changes bring that to none:

- the startup objects (imported modules, the app, its routes and settings)
  live as long as the process, so once the server has started they are
  frozen: moved where collections never look again;
- the young generation is collected every ``threshold`` allocations instead
  of CPython's 700. The older generations are collected every tenth younger
  collection, so full collections, which a steadily growing heap triggers
  until the quarter rule stops them, become ten times rarer.

Garbage in cycles is still collected, a little later. Only ``realtime serve``
does this: importing the package, or mounting its app in another server,
leaves the collector as it was. Every app times the collections it lives
through (:class:`PauseWatch`), as ``realtime_gc_pause_seconds`` in /metrics:
a collection stops the event loop, and with it every delivery.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from time import perf_counter

from prometheus_client import Histogram

logger = logging.getLogger(__name__)


def set_young_threshold(threshold: int) -> None:
    """Collect the youngest generation every ``threshold`` allocations."""
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(threshold, middle, oldest)


def freeze_startup_objects() -> None:
    """Move every object alive now out of the collector's sight for good."""
    # Garbage frozen with them would never be freed: collect it first.
    gc.collect()
    gc.freeze()
    logger.debug(
        "collector: startup objects frozen",
        extra={"frozen": gc.get_freeze_count(), "threshold": gc.get_threshold()[0]},
    )


class PauseWatch:
    """Observes each collection's duration, by generation, while started."""

    def __init__(self, pauses: Histogram) -> None:
        self._by_generation = [
            pauses.labels(str(generation)) for generation in (0, 1, 2)
        ]
        self._began = 0.0

    def start(self) -> None:
        gc.callbacks.append(self._on_collection)

    def stop(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._on_collection)

    def _on_collection(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = perf_counter()
        else:
            self._by_generation[info["generation"]].observe(
                perf_counter() - self._began
            )
