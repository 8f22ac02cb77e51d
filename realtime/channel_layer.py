"""A Django Channels layer that hands group messages to the gateway.

The platform's Django and Celery code publishes with
``async_to_sync(channel_layer.group_send)("execution_42", {"type": handler,
"data": payload})``. Pointing ``CHANNEL_LAYERS`` at this class turns each such
call into a publication, so that code moves to the gateway unchanged::

    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "realtime.channel_layer.RealtimeChannelLayer",
            "CONFIG": {"redis_url": "redis://redis:6379/0"},  # or "url": ...
        }
    }

Groups map to channels: ``execution_{id}``, ``pipeline_{id}``, ``project_{id}``
and ``user_{id}`` to the channel of that kind and id, ``global_monitor`` to
``monitor``, ``system`` to ``system``. The payload's own ``type`` (for example
``execution_status`` inside an ``execution_update``) names the message, with the
old ``log_message`` and ``error`` renamed ``log_entry`` and ``error_update``;
without one, the handler's type does, dots turned to underscores. Integer ids
(``id``, ``*_id``) become strings, as everywhere in the gateway.

The layer only publishes: the gateway, not Django consumers, talks to clients.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, ClassVar

from realtime.bus.backend import PublishResult
from realtime.protocol.publication import RESERVED_TYPES
from realtime.publisher import Publisher, PublishError

_GROUP = re.compile(r"^(execution|pipeline|project|user)_([A-Za-z0-9_-]{1,64})$")
_NAMED_GROUPS = {"global_monitor": "monitor", "monitor": "monitor", "system": "system"}
_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def group_channel(group: str) -> str:
    """The gateway channel of a Channels group name."""
    if group in _NAMED_GROUPS:
        return _NAMED_GROUPS[group]
    match = _GROUP.match(group)
    if match is None:
        raise PublishError("invalid_channel", f"no channel for group {group!r}")
    return f"{match.group(1)}:{match.group(2)}"


# Payload types the platform's Channels code used, in the gateway's words.
_RENAMED = {"log_message": "log_entry", "error": "error_update"}


def _id_text(key: str, value: Any) -> Any:
    # Django hands over integer primary keys; the gateway speaks string ids.
    is_id = key == "id" or key.endswith("_id")
    return str(value) if is_id and type(value) is int else value


def group_publication(group: str, message: dict[str, Any]) -> dict[str, Any]:
    """The publication a ``group_send`` stands for."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise PublishError("invalid_message", "a group message is a dict with a type")
    handler = message["type"].replace(".", "_")
    payload = message.get("data")
    if not isinstance(payload, dict):
        payload = {k: v for k, v in message.items() if k != "type"}
    own_type = payload.get("type")
    if isinstance(own_type, str):
        own_type = _RENAMED.get(own_type, own_type)
    usable = isinstance(own_type, str) and _TYPE.match(own_type)
    kind = own_type if usable and own_type not in RESERVED_TYPES else handler
    data = {k: _id_text(k, v) for k, v in payload.items() if k != "type"}
    return {"channel": group_channel(group), "type": kind, "data": data}


class RealtimeChannelLayer:
    """Publishes ``group_send`` calls; everything a consumer would need is refused."""

    extensions: ClassVar[list[str]] = ["groups"]

    def __init__(
        self,
        redis_url: str | None = None,
        url: str | None = None,
        api_key: str | None = None,
        timeout: float = 10,
        **_: Any,  # other layers' options (expiry, capacity ...) mean nothing here
    ) -> None:
        # A synchronous publisher run in a thread: async_to_sync gives every
        # call a fresh event loop, and async clients cannot cross loops.
        self._publisher = Publisher(
            url, api_key=api_key, redis_url=redis_url, timeout=timeout
        )

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        body = group_publication(group, message)
        await asyncio.to_thread(self._publisher.publish_many, [body])

    async def publish(self, group: str, message: dict[str, Any]) -> list[PublishResult]:
        """Like :meth:`group_send`, but returns the offsets."""
        body = group_publication(group, message)
        return await asyncio.to_thread(self._publisher.publish_many, [body])

    async def group_add(self, group: str, channel: str) -> None:
        """Nothing to do: clients join channels at the gateway."""

    async def group_discard(self, group: str, channel: str) -> None:
        """Nothing to do: clients leave channels at the gateway."""

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        raise NotImplementedError("this layer only publishes with group_send")

    async def receive(self, channel: str) -> dict[str, Any]:
        raise NotImplementedError("this layer only publishes with group_send")

    async def new_channel(self, prefix: str = "specific.") -> str:
        raise NotImplementedError("this layer only publishes with group_send")

    async def flush(self) -> None:
        """Nothing is buffered."""

    async def close(self) -> None:
        self._publisher.close()
