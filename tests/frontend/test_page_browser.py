"""The built page, served by a real gateway, in headless Chromium (playwright-core)."""

from __future__ import annotations

import base64
import http.client
import os

import pytest

from tests.frontend.support import ARTIFACTS, CHROMIUM, Gateway, run_npm

# Needs Node.js (and, for the page, Chromium): run with `pytest -m node`.
pytestmark = pytest.mark.node


def _require_chromium() -> None:
    # CI installs Chromium; a missing browser is a broken machine, never a skip.
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: apt-get install -y chromium "
            "(or set CHROMIUM_PATH)"
        )


@pytest.mark.timeout(900)
@pytest.mark.usefixtures("node_modules")
def test_page_shows_live_execution(page_gateway: Gateway) -> None:
    _require_chromium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "page.png"
    screenshot.unlink(missing_ok=True)
    run_npm(
        ["run", "test:browser"],
        env={
            "REALTIME_BASE_URL": page_gateway.url,
            "REALTIME_ARTIFACTS_DIR": str(ARTIFACTS),
            "CHROMIUM_PATH": str(CHROMIUM),
        },
        context=page_gateway.log_tail,
    )
    assert screenshot.is_file()
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _websocket_handshake_status(port: int, path: str, origin: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(
            "GET",
            path,
            headers={
                "Connection": "Upgrade",
                "Upgrade": "websocket",
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
                "Origin": origin,
            },
        )
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.parametrize(
    "path", ["/socket.io/?EIO=4&transport=websocket", "/ws/monitor"]
)
def test_gateway_accepts_its_own_page_origin(
    secure_gateway: Gateway, path: str
) -> None:
    # secure_gateway keeps the default REALTIME_CORS_ORIGINS and listens on a free
    # port: the page it serves at `/` must still be able to open its WebSocket.
    origin = f"http://127.0.0.1:{secure_gateway.port}"
    assert _websocket_handshake_status(secure_gateway.port, path, origin) == 101


def test_gateway_refuses_a_foreign_page(secure_gateway: Gateway) -> None:
    path = "/socket.io/?EIO=4&transport=websocket"
    status = _websocket_handshake_status(secure_gateway.port, path, "http://evil.test")
    assert status != 101
