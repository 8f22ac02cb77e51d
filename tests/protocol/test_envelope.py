"""The envelope every message from the gateway travels in."""

from __future__ import annotations

import re

import orjson

from realtime.protocol.envelope import (
    Message,
    error_message,
    gateway_message,
    utc_timestamp,
)

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ENVELOPE_KEYS = {"type", "channel", "offset", "epoch", "timestamp", "service", "data"}


def test_a_timestamp_is_utc_iso_8601_with_a_z() -> None:
    """Timestamps look like 2026-12-03T10:00:00.123Z."""
    assert ISO_UTC.match(utc_timestamp())


def test_a_published_message_has_every_envelope_field() -> None:
    """type, channel, offset, epoch, timestamp, service, data; nothing beside."""
    message = Message(
        "execution_update", "execution:42", {"a": 1}, offset=17, epoch="k3"
    )
    envelope = orjson.loads(message.json)
    assert set(envelope) == ENVELOPE_KEYS
    assert envelope["service"] == "realtime"
    assert (envelope["offset"], envelope["epoch"]) == (17, "k3")
    assert envelope["data"] == {"a": 1}
    assert ISO_UTC.match(envelope["timestamp"])


def test_human_text_is_added_as_message_when_given() -> None:
    """message appears only when there is human text."""
    message = Message("x", "monitor", {}, offset=1, epoch="e", message="hello")
    assert message.envelope()["message"] == "hello"


def test_the_gateways_own_messages_have_null_offset_and_epoch() -> None:
    """What the gateway says on its own has offset and epoch null."""
    envelope = gateway_message("pong", {}).envelope()
    assert set(envelope) == ENVELOPE_KEYS
    assert envelope["offset"] is None
    assert envelope["epoch"] is None


def test_an_error_carries_code_and_detail_in_data() -> None:
    """error's data holds code and detail; its message is the detail."""
    envelope = error_message("invalid_json", "the frame is not JSON").envelope()
    assert envelope["type"] == "error"
    assert envelope["data"] == {
        "code": "invalid_json",
        "detail": "the frame is not JSON",
    }
    assert envelope["message"] == "the frame is not JSON"
    assert envelope["offset"] is None


def test_a_kept_message_reads_back_as_it_was() -> None:
    """from_json rebuilds the same envelope from history's JSON."""
    original = Message("log_line", "execution:1", {"line": "ok"}, offset=3, epoch="e")
    copy = Message.from_json(original.json)
    assert copy.envelope() == original.envelope()


def test_an_encoding_is_computed_once_and_shared() -> None:
    """A fan-out encodes once: the same key gives back the same object."""
    message = Message("x", "monitor", {}, offset=1, epoch="e")
    calls = []

    def encode(m: Message) -> object:
        calls.append(m)
        return object()

    first = message.encoded("k", encode)
    assert message.encoded("k", encode) is first
    assert len(calls) == 1
