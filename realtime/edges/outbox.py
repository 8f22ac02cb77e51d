"""A connection's bounded queue of outgoing frames."""

from __future__ import annotations

from dataclasses import dataclass

from realtime.edges.slim import SlimEvent


@dataclass(frozen=True, slots=True)
class CloseFrame:
    code: int
    reason: str = ""


class Outbox:
    """Frames waiting for the connection's writer, bounded by count and bytes.

    ``put`` never waits: a publisher must not be slowed by its slowest
    recipient. When the bounds are crossed the queued frames are dropped, the
    outbox closes itself with ``overflow_code`` and refuses everything after.
    """

    __slots__ = (
        "_bytes",
        "_max_bytes",
        "_max_frames",
        "_overflow_code",
        "_ready",
        "closing",
        "dropped",
        "waiting",
    )

    def __init__(self, max_frames: int, max_bytes: int, overflow_code: int) -> None:
        # A list, not a deque: most connections never queue anything, and an
        # empty deque costs 600 bytes. The bounds keep pop(0) cheap.
        self.waiting: list[str | CloseFrame] = []
        self._bytes = 0
        self._max_frames = max_frames
        self._max_bytes = max_bytes
        self._overflow_code = overflow_code
        self._ready = SlimEvent()
        self.closing: CloseFrame | None = None
        self.dropped = 0

    def __len__(self) -> int:
        return len(self.waiting)

    def put(self, frame: str) -> bool:
        """Queue ``frame``; false when the outbox is closing or just overflowed."""
        if self.closing is not None:
            return False
        if len(self.waiting) >= self._max_frames or (
            self._bytes + len(frame) > self._max_bytes
        ):
            self.dropped = len(self.waiting)
            self.waiting.clear()
            self._bytes = 0
            self.close(self._overflow_code, "too slow: reconnect and recover")
            return False
        self.waiting.append(frame)
        self._bytes += len(frame)
        self._ready.set()
        return True

    def close(self, code: int, reason: str = "") -> None:
        """Queue a close after what is already queued; later frames are refused."""
        if self.closing is not None:
            return
        self.closing = CloseFrame(code, reason)
        self.waiting.append(self.closing)
        self._ready.set()

    async def get(self) -> str | CloseFrame:
        while not self.waiting:
            self._ready.clear()
            await self._ready.wait()
        frame = self.waiting.pop(0)
        if isinstance(frame, str):
            self._bytes -= len(frame)
        return frame
