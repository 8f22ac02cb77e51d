"""Which web pages may open connections: one allow-list for both edges."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit


class OriginPolicy:
    """Allows a listed origin, the gateway's own origin, and non-browser clients.

    A request without an ``Origin`` header comes from a program, not a page,
    and CORS has nothing to protect there. ``"*"`` in the list allows any page.
    """

    def __init__(self, allowed: list[str]) -> None:
        self._any = "*" in allowed
        self._allowed = frozenset(origin.rstrip("/") for origin in allowed)

    def allows(self, origin: str | None, host: str | None) -> bool:
        if origin is None or self._any or origin.rstrip("/") in self._allowed:
            return True
        return host is not None and urlsplit(origin).netloc == host

    def for_engineio(self, origin: str | None, environ: Mapping[str, str]) -> bool:
        """The callable python-engineio takes as ``cors_allowed_origins``."""
        return self.allows(origin, environ.get("HTTP_HOST"))
