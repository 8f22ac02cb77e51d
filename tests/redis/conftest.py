from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.support.processes import GatewayProcess, RedisProcess

Cluster = Callable[..., list[GatewayProcess]]


def gateway_env(redis: RedisProcess, prefix: str) -> dict[str, str]:
    return {
        "REALTIME_REDIS_URL": redis.url,
        "REALTIME_REDIS_PREFIX": prefix,
        "REALTIME_REDIS_KEEPALIVE": "0.5",
        "REALTIME_METRICS_INTERVAL": "3600",
        "REALTIME_JWT_SECRET": "",
        "REALTIME_API_KEY": "",
    }


@pytest.fixture
def prefix() -> str:
    """A Redis key prefix of this test's own, so tests share one server safely."""
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def cluster(redis_server: RedisProcess, prefix: str) -> Iterator[Cluster]:
    """Start N gateway processes on one Redis; all are stopped afterwards."""
    started: list[GatewayProcess] = []

    def start(count: int, redis: RedisProcess = redis_server) -> list[GatewayProcess]:
        env = gateway_env(redis, prefix)
        processes = [GatewayProcess(env).launch() for _ in range(count)]
        started.extend(processes)
        return [process.wait_ready() for process in processes]

    yield start
    for process in started:
        process.stop()
