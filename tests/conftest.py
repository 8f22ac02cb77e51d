from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.gateway import RunningGateway, running_gateway
from tests.support.processes import RedisProcess
from tests.support.tokens import API_KEY, SECRET


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    """One real Redis server for the session, on a free port."""
    server = RedisProcess(Path(tmp_path_factory.mktemp("redis"))).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def gateway() -> AsyncIterator[RunningGateway]:
    """An open gateway (no secret, no API key) on the memory backend.

    Shared by the whole session: tests use channel ids of their own.
    """
    async with running_gateway(history_size=50, max_message_bytes=4096) as served:
        yield served


@pytest.fixture(scope="session")
async def secure_gateway() -> AsyncIterator[RunningGateway]:
    """A gateway with a JWT secret, an API key and a short auth timeout."""
    async with running_gateway(
        jwt_secret=SECRET, api_key=API_KEY, auth_timeout=0.5, max_message_bytes=4096
    ) as served:
        yield served
