"""Reading ``GET /metrics`` the way Prometheus does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


@dataclass(frozen=True)
class Scrape:
    text: str
    types: dict[str, str]  # family name -> counter, gauge, histogram ...
    samples: list[Sample]

    def value(self, name: str, **labels: str) -> float | None:
        """The sample ``name`` whose labels include ``labels``; None if absent."""
        for sample in self.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                return sample.value
        return None

    def label_values(self) -> set[str]:
        return {value for s in self.samples for value in s.labels.values()}


async def scrape(base_url: str) -> Scrape:
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    families = list(text_string_to_metric_families(response.text))
    return Scrape(
        response.text,
        {family.name: family.type for family in families},
        [sample for family in families for sample in family.samples],
    )


async def eventually(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool],
    timeout: float = 10.0,
    interval: float = 0.02,
) -> None:
    """Until ``check()`` is true; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {check}")
        await asyncio.sleep(interval)
