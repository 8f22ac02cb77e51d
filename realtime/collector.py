"""How a process the gateway runs itself sets Python's cyclic garbage collector.

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
leaves the collector as it was.
"""

from __future__ import annotations

import gc
import logging

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
