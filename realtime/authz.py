"""Who may follow which channel: the token's claims, then the platform's answer.

A token may carry a ``channels`` claim, a list of channel names or shell-style
patterns (``"project:12"``, ``"execution:*"``); a channel outside it is refused.
With ``REALTIME_AUTHZ_URL`` set, the gateway also asks the platform, with a
POST of ``{"user_id", "channel"}``: a 2xx answer allows (unless its JSON says
``"allow": false``), anything else, a timeout included, refuses. Answers are
cached for ``REALTIME_AUTHZ_CACHE_TTL`` seconds. ``user:{id}`` is only ever
readable by that user.
"""

from __future__ import annotations

import fnmatch
import logging
import time
from collections import OrderedDict

import httpx

from realtime.auth import Identity
from realtime.protocol.channels import Channel, ChannelKind
from realtime.protocol.errors import ErrorCode, ProtocolError

logger = logging.getLogger(__name__)

_CACHE_SIZE = 10_000


def _refuse(channel: Channel) -> ProtocolError:
    return ProtocolError(ErrorCode.FORBIDDEN, f"{channel.name} is not yours to read")


def allowed_by_claims(identity: Identity, channel: Channel) -> bool:
    if channel.kind is ChannelKind.USER:
        return identity.user_id is not None and channel.id == identity.user_id
    if channel.kind is ChannelKind.SYSTEM:
        return True  # it reaches every connection anyway
    patterns = identity.claims.get("channels")
    if patterns is None:
        return True
    if not isinstance(patterns, list):
        return False  # a malformed claim grants nothing
    name = channel.name
    return any(isinstance(p, str) and fnmatch.fnmatchcase(name, p) for p in patterns)


class Authorizer:
    def __init__(
        self,
        url: str | None = None,
        *,
        api_key: str | None = None,
        cache_ttl: float = 30.0,
        timeout: float = 5.0,
    ) -> None:
        self._url = url
        self._cache_ttl = cache_ttl
        self._cache: OrderedDict[tuple[str | None, str], tuple[float, bool]] = (
            OrderedDict()
        )
        self._client: httpx.AsyncClient | None = None
        if url is not None:
            headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
            self._client = httpx.AsyncClient(headers=headers, timeout=timeout)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def check(self, identity: Identity, channel: Channel) -> None:
        """Return if ``identity`` may follow ``channel``; raise ``forbidden`` if not."""
        if not allowed_by_claims(identity, channel):
            raise _refuse(channel)
        if self._client is None or channel.kind is ChannelKind.SYSTEM:
            return
        if not await self._ask(identity.user_id, channel.name):
            raise _refuse(channel)

    async def _ask(self, user_id: str | None, channel: str) -> bool:
        key = (user_id, channel)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            self._cache.move_to_end(key)
            return cached[1]

        allowed = await self._request(user_id, channel)
        self._cache[key] = (now + self._cache_ttl, allowed)
        self._cache.move_to_end(key)
        while len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return allowed

    async def _request(self, user_id: str | None, channel: str) -> bool:
        assert self._client is not None
        assert self._url is not None
        try:
            response = await self._client.post(
                self._url, json={"user_id": user_id, "channel": channel}
            )
        except httpx.HTTPError as error:
            # Fail closed: an unreachable platform must not open every channel.
            logger.warning(
                "authorization check failed (%s); refusing",
                type(error).__name__,
                extra={"channel": channel, "user": user_id},
            )
            return False
        if not response.is_success:
            return False
        try:
            verdict = response.json()
        except ValueError:
            return True
        return not (isinstance(verdict, dict) and verdict.get("allow") is False)
