from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import RedisProcess


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    """One real Redis server for the session, on a free port."""
    server = RedisProcess(Path(tmp_path_factory.mktemp("redis"))).start()
    yield server
    server.stop()
