"""Close codes a client can act on."""

from __future__ import annotations

from realtime.protocol.errors import CloseCode


def test_close_codes_are_the_documented_numbers() -> None:
    """Too big is 1009, a bad path 4400 and unauthorized 4401."""
    assert CloseCode.MESSAGE_TOO_BIG == 1009
    assert CloseCode.INVALID_CHANNEL == 4400
    assert CloseCode.UNAUTHORIZED == 4401
