"""``GET /metrics``: Prometheus text an operator can scrape, with no channel ids."""

from __future__ import annotations

import gc
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.clients import new_id, publish, sio_connect, ws_joined
from tests.support.gateway import RunningGateway, running_gateway
from tests.support.scrape import Scrape, scrape

# Distinctive ids: none of them may show up anywhere in the metrics.
WS_ID = "wsmetricsprobe" + new_id()
SIO_ID = "siometricsprobe" + new_id()
DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"


@pytest.fixture(scope="module")
async def scraped() -> AsyncIterator[tuple[RunningGateway, Scrape]]:
    """A gateway after some traffic on both protocols, and one scrape of it."""
    async with (
        running_gateway() as gateway,
        ws_joined(gateway, f"/ws/execution/{WS_ID}") as ws,
        sio_connect(gateway, "/execution") as sio,
    ):
        assert (await sio.call("subscribe", {"id": SIO_ID}))["ok"] is True
        await publish(gateway, f"execution:{WS_ID}", "log_entry", {"n": 1})
        await publish(
            gateway,
            [f"execution:{WS_ID}", f"execution:{SIO_ID}"],
            "execution_update",
            {"n": 2},
        )
        await ws.next_of("log_entry")
        await ws.next_of("execution_update")
        await sio.next_of("execution_update")
        await ws.send("not json")
        assert (await ws.next_of("error"))["data"]["code"] == "invalid_json"
        refused = await sio.call("subscribe", {"id": SIO_ID, "since": -1})
        assert refused["error"] == "invalid_message"
        yield gateway, await scrape(gateway.url)


async def test_connections_by_transport_and_namespace(
    scraped: tuple[RunningGateway, Scrape],
) -> None:
    """realtime_connections is a gauge labelled by transport and namespace."""
    _, metrics = scraped
    assert metrics.types["realtime_connections"] == "gauge"
    labels = {"transport": "websocket", "namespace": "/execution"}
    assert metrics.value("realtime_connections", **labels) == 1
    labels = {"transport": "socketio", "namespace": "/execution"}
    assert metrics.value("realtime_connections", **labels) == 1


async def test_publications_and_deliveries_are_counted(
    scraped: tuple[RunningGateway, Scrape],
) -> None:
    """Three messages published through the API, three handed to connections."""
    _, metrics = scraped
    assert metrics.types["realtime_publications"] == "counter"
    assert metrics.types["realtime_deliveries"] == "counter"
    assert metrics.value("realtime_publications_total") == 3
    assert metrics.value("realtime_deliveries_total") == 3


async def test_delivery_latency_is_a_histogram(
    scraped: tuple[RunningGateway, Scrape],
) -> None:
    """realtime_delivery_latency_seconds has buckets, a count and a sum."""
    _, metrics = scraped
    name = "realtime_delivery_latency_seconds"
    assert metrics.types[name] == "histogram"
    assert metrics.value(f"{name}_count") == 3
    assert metrics.value(f"{name}_bucket", le="+Inf") == 3
    total = metrics.value(f"{name}_sum")
    assert total is not None
    assert 0 <= total < 5
    buckets = [s for s in metrics.samples if s.name == f"{name}_bucket"]
    assert len(buckets) > 5


async def test_errors_are_counted_by_code(
    scraped: tuple[RunningGateway, Scrape],
) -> None:
    """Errors answered to clients show up in realtime_errors_total by code."""
    _, metrics = scraped
    assert metrics.types["realtime_errors"] == "counter"
    assert metrics.value("realtime_errors_total", code="invalid_json") == 1
    assert metrics.value("realtime_errors_total", code="invalid_message") == 1


async def test_backend_up_is_reported(
    scraped: tuple[RunningGateway, Scrape],
) -> None:
    """realtime_backend_up is 1 while the backend is reachable."""
    _, metrics = scraped
    assert metrics.value("realtime_backend_up") == 1


async def test_no_label_carries_a_channel_id(
    scraped: tuple[RunningGateway, Scrape],
) -> None:
    """No label value, nor anything else in the text, names a channel."""
    _, metrics = scraped
    for value in metrics.label_values():
        assert ":" not in value or value.startswith("/"), value
        assert WS_ID not in value
        assert SIO_ID not in value
    assert WS_ID not in metrics.text
    assert SIO_ID not in metrics.text
    assert "execution:" not in metrics.text


async def test_garbage_collections_are_timed_by_generation() -> None:
    """Each collection the gateway lives through is a pause in a histogram."""
    async with running_gateway() as gateway:
        name = "realtime_gc_pause_seconds"
        before = (await scrape(gateway.url)).value(f"{name}_count", generation="2")
        gc.collect()
        gc.collect()
        metrics = await scrape(gateway.url)
    assert metrics.types[name] == "histogram"
    assert before is not None
    full = metrics.value(f"{name}_count", generation="2")
    assert full is not None
    assert full >= before + 2
    for generation in "01":
        assert metrics.value(f"{name}_count", generation=generation) is not None


async def test_a_stopped_gateway_stops_timing_collections() -> None:
    """The collector's callback goes with the app: none is left per app started."""
    callbacks = list(gc.callbacks)
    async with running_gateway():
        assert len(gc.callbacks) == len(callbacks) + 1
    assert gc.callbacks == callbacks


async def test_the_dashboard_graphs_only_metrics_the_gateway_has(
    scraped: tuple[RunningGateway, Scrape],
) -> None:
    """Every realtime_* name in docs/grafana-dashboard.json is a scraped family."""
    _, metrics = scraped
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    named = {name for expr in exprs for name in re.findall(r"realtime_\w+", expr)}
    suffix = re.compile(r"_(bucket|sum|count|total)$")
    assert named
    for name in named:
        assert suffix.sub("", name) in metrics.types, name
