"""The shim's Node integration tests against real gateway processes.

Subscribe, receive, drop the WebSocket, publish through ``POST /api/publish`` while the
client is away, reconnect, and check that every message arrived once and in order;
plus the contract's acks, monitor feed, legacy service and token refresh.
"""

from __future__ import annotations

import pytest

from tests.frontend.conftest import TEST_JWT_SECRET
from tests.frontend.support import Gateway, run_npm

# Needs Node.js (and, for the page, Chromium): run with `pytest -m node`.
pytestmark = pytest.mark.node


@pytest.mark.timeout(900)
@pytest.mark.usefixtures("node_modules")
def test_shim_against_a_real_gateway(
    page_gateway: Gateway, secure_gateway: Gateway
) -> None:
    output = run_npm(
        ["run", "test:integration"],
        env={
            "REALTIME_BASE_URL": page_gateway.url,
            "REALTIME_SECURE_BASE_URL": secure_gateway.url,
            "REALTIME_SECURE_JWT_SECRET": TEST_JWT_SECRET,
        },
        context=lambda: page_gateway.log_tail() + secure_gateway.log_tail(),
    )
    # Every test ran: the token tests only skip when the secure gateway is missing.
    assert "skipped" not in output, output
