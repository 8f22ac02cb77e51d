"""Logging set-up: text for people, JSON lines for machines.

The policy: INFO for start, stop, connect and disconnect; DEBUG per message;
WARNING for skipped or retried work; ERROR with a traceback for what must not
happen. Records carry named fields (client, sid, user, channel, code) through
``extra``; no token or secret is ever passed to a logger.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any

import orjson

# uvicorn and websockets log every WebSocket handshake at INFO ("[accepted]",
# "connection open", "connection closed"). The edges log each connect and
# disconnect once, with the channel and user, so the gateway's WebSocket
# protocol (edges/fastpath.py) sends these lines to a logger of their own,
# kept for DEBUG runs; its warnings and errors show at every level.
HANDSHAKE_LOGGER = "uvicorn.error.websocket"

# Attributes every LogRecord has; anything else came in through ``extra``.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's ANSI copy of the message
}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


# A token as it may reach a log line through someone else's logger: uvicorn
# logs each WebSocket path with its query string (``?token=``) at INFO, and the
# request headers (``Authorization: Bearer``) at DEBUG.
_SECRET = re.compile(
    r"eyJ[\w-]*\.[\w-]+\.[\w-]*"  # a JWT, wherever it appears
    r"|(?<=token=)[^&\s\"'\\]+"  # a query parameter
    r"|(?<=bearer )[^\s\"'\\]+",  # a credential
    re.IGNORECASE,
)


class RedactSecrets(logging.Filter):
    """Blanks tokens out of every record's message, whichever logger wrote it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True  # the formatter reports the broken record itself
        redacted = _SECRET.sub("[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_fields(record))
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = _fields(record)
        if fields:
            text += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        return text


def configure_logging(level: str, format: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    formatter: logging.Formatter = (
        JsonFormatter() if format == "json" else TextFormatter()
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Access lines per request, and uvicorn's lines per WebSocket handshake,
    # repeat what the gateway logs itself; keep them for DEBUG runs.
    quiet = logging.DEBUG if level == "DEBUG" else logging.WARNING
    for name in ("uvicorn.access", HANDSHAKE_LOGGER):
        logging.getLogger(name).setLevel(quiet)
