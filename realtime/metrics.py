"""Prometheus metrics, one registry per gateway; no label carries a channel id."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from time import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from realtime.protocol.envelope import Message

# Fan-out is expected in milliseconds; the tail shows trouble.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
# A young collection takes well under a millisecond; a full one grows with the heap.
_GC_BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


class _Live(Collector):
    """Gauges read at scrape time from the gateway's own counts."""

    def __init__(self, read: Callable[[], dict[str, object]]) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self._read()
        connections = GaugeMetricFamily(
            "realtime_connections",
            "Open client connections",
            labels=["transport", "namespace"],
        )
        by_key = now["connections"]
        assert isinstance(by_key, dict)
        for (transport, namespace), count in sorted(by_key.items()):
            connections.add_metric([transport, namespace], count)
        yield connections
        for name, text in (
            ("subscriptions", "Channel subscriptions held by connections"),
            ("channels", "Channels with at least one subscriber here"),
            ("backend_up", "1 when the backend is reachable, else 0"),
        ):
            value = now[name]
            assert isinstance(value, int | float)
            yield GaugeMetricFamily(f"realtime_{name}", text, value=value)


class Metrics:
    def __init__(self, read_live: Callable[[], dict[str, object]]) -> None:
        registry = self.registry = CollectorRegistry()
        registry.register(_Live(read_live))
        self.publications = Counter(
            "realtime_publications",
            "Messages published through this process's API",
            registry=registry,
        )
        self.messages = Counter(
            "realtime_messages",
            "Published messages this process routed to its connections",
            registry=registry,
        )
        self.deliveries = Counter(
            "realtime_deliveries",
            "Messages handed to client connections",
            registry=registry,
        )
        self.latency = Histogram(
            "realtime_delivery_latency_seconds",
            "From publication to hand-over to the connections",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.slow_disconnects = Counter(
            "realtime_slow_disconnects",
            "Connections cut because they could not keep up",
            ["transport"],
            registry=registry,
        )
        self.dropped = Counter(
            "realtime_dropped_messages",
            "Queued messages dropped with a connection that could not keep up",
            ["transport"],
            registry=registry,
        )
        self.gc_pauses = Histogram(
            "realtime_gc_pause_seconds",
            "Collections of Python's garbage collector, each a pause of the "
            "event loop, by generation (2 is a full collection)",
            ["generation"],
            buckets=_GC_BUCKETS,
            registry=registry,
        )
        self.errors = Counter(
            "realtime_errors",
            "Errors answered to clients and publishers",
            ["code"],
            registry=registry,
        )

    def on_dispatch(self, message: Message, delivered: int) -> None:
        self.messages.inc()
        if delivered:
            self.deliveries.inc(delivered)
            published = datetime.fromisoformat(message.timestamp).timestamp()
            self.latency.observe(max(0.0, time() - published))
