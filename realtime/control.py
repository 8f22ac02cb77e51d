"""Passing a client's control command (stop, restart ...) on to the backend."""

from __future__ import annotations

import logging
from typing import Any

import httpx

logger = logging.getLogger(__name__)


class ControlForwarder:
    """POSTs ``{"command", "execution_id", "user_id"}`` to the platform's URL."""

    def __init__(self, url: str, api_key: str | None, timeout: float) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._url = url
        self._client = httpx.AsyncClient(headers=headers, timeout=timeout)

    async def close(self) -> None:
        await self._client.aclose()

    async def forward(
        self, command: str, execution_id: str, user_id: str | None
    ) -> dict[str, Any]:
        """The verdict as ``{"ok", "status", "detail"}``; never raises for HTTP."""
        body = {"command": command, "execution_id": execution_id, "user_id": user_id}
        try:
            response = await self._client.post(self._url, json=body)
        except httpx.HTTPError as error:
            logger.warning(
                "control command not delivered: %s",
                type(error).__name__,
                extra={"command": command, "execution_id": execution_id},
            )
            return {"ok": False, "status": None, "detail": "the backend did not answer"}
        try:
            detail: Any = response.json()
        except ValueError:
            detail = response.text[:1000]
        return {
            "ok": response.is_success,
            "status": response.status_code,
            "detail": detail,
        }
