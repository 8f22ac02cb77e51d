"""Fixtures for the frontend shim's tests: its Node dependencies and real gateways."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.frontend.support import Gateway, ensure_node_modules, gateway_process

# Signs the tokens of the Node token tests; only ever used against a loopback gateway.
TEST_JWT_SECRET = "frontend-shim-tests-secret-0123456789abcdef"


@pytest.fixture(scope="session")
def node_modules() -> None:
    ensure_node_modules()


@pytest.fixture(scope="session")
def page_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """An open gateway on the memory backend, serving the built page at ``/``."""

    def settings(port: int) -> dict[str, str]:
        return {
            # Metrics every second, so the monitor panel fills while a test waits.
            "REALTIME_METRICS_INTERVAL": "1",
            "REALTIME_LOG_LEVEL": "INFO",
            # The page's own origin: the default allow-list only names port 8001 and
            # 5173, and this gateway listens on a free port.
            "REALTIME_CORS_ORIGINS": f"http://127.0.0.1:{port},http://localhost:{port}",
        }

    with gateway_process(
        tmp_path_factory.mktemp("gateway"), settings, name="page"
    ) as served:
        yield served


@pytest.fixture(scope="session")
def secure_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway that requires a JWT signed with ``TEST_JWT_SECRET``; default CORS."""
    with gateway_process(
        tmp_path_factory.mktemp("secure-gateway"),
        lambda _port: {"REALTIME_JWT_SECRET": TEST_JWT_SECRET},
        name="secure",
    ) as served:
        yield served
