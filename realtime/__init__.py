"""Realtime event gateway: Socket.IO and plain WebSocket fan-out with history."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("realtime")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

SERVICE_NAME = "realtime"
