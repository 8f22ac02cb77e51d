"""Error codes and close codes, decided here and nowhere else.

A bad client message is answered with an ``error`` envelope and the connection
lives on. A fatal condition closes the connection with a code that tells the
client whether reconnecting can help:

==== ========================= ==================================================
code meaning                   should the client reconnect?
==== ========================= ==================================================
1009 frame too big             yes, after fixing what it sends
1012 server restarting         yes, to another process, recovering from its offset
1013 backend unavailable       yes, after a while (another process may have it)
4400 invalid channel           no: the path names no channel
4401 unauthorized              only with a new token
4403 forbidden                 no: the token may not read this channel, or the
                               page's origin is not allowed
4408 too slow                  yes, recovering from its offset
4429 too many connections      later: the user has too many open already
==== ========================= ==================================================
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class ErrorCode(StrEnum):
    INVALID_JSON = "invalid_json"
    INVALID_MESSAGE = "invalid_message"
    UNKNOWN_TYPE = "unknown_type"
    INVALID_CHANNEL = "invalid_channel"
    INVALID_TYPE = "invalid_type"
    RESERVED_TYPE = "reserved_type"
    INVALID_DATA = "invalid_data"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NO_STATE = "no_state"
    NOT_SUPPORTED = "not_supported"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    BACKEND_UNAVAILABLE = "backend_unavailable"
    RATE_LIMITED = "rate_limited"
    TOO_MANY_SUBSCRIPTIONS = "too_many_subscriptions"
    TOO_MANY_CONNECTIONS = "too_many_connections"
    INTERNAL = "internal_error"


class CloseCode(IntEnum):
    NORMAL = 1000
    MESSAGE_TOO_BIG = 1009
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    INVALID_CHANNEL = 4400
    UNAUTHORIZED = 4401
    FORBIDDEN = 4403
    TOO_SLOW = 4408
    TOO_MANY_CONNECTIONS = 4429


class ProtocolError(Exception):
    """A refusal that travels to the client as ``{"code", "detail"}``."""

    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
