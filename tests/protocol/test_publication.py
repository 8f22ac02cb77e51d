"""Publications as the publish API and the Python publisher take them."""

from __future__ import annotations

from typing import Any

import pytest

from realtime.protocol.channels import ChannelKind
from realtime.protocol.errors import ErrorCode, ProtocolError
from realtime.protocol.publication import (
    RESERVED_TYPES,
    parse_publications,
)

GATEWAY_TYPES = {
    "connection",
    "pong",
    "subscribed",
    "unsubscribed",
    "authenticated",
    "recovery",
    "error",
    "control_result",
    "system_metrics",
    # Not in the original list, but also the gateway's own messages.
    "system_status",
    "execution_logs",
}


def _one(**fields: Any) -> dict[str, Any]:
    return {"channel": "execution:42", "type": "execution_update", **fields}


def _code_of(raw: object) -> ErrorCode:
    with pytest.raises(ProtocolError) as caught:
        parse_publications(raw)
    return caught.value.code


def test_one_publication_gives_one_item() -> None:
    """A single object is one publication to one channel."""
    [[item]] = parse_publications(_one(data={"progress": 50}))
    assert item.channel.kind is ChannelKind.EXECUTION
    assert item.channel.id == "42"
    assert (item.type, item.data) == ("execution_update", {"progress": 50})


def test_a_list_gives_its_publications_in_order() -> None:
    """A list keeps its order."""
    batches = parse_publications(
        [_one(channel="execution:1"), _one(channel="execution:2")]
    )
    assert [batch[0].channel.name for batch in batches] == [
        "execution:1",
        "execution:2",
    ]


def test_channels_sends_one_publication_to_several_channels() -> None:
    """ "channels" gives one item per channel, in order."""
    [items] = parse_publications(
        {"channels": ["pipeline:1", "project:2"], "type": "pipeline_update"}
    )
    assert [item.channel.name for item in items] == ["pipeline:1", "project:2"]


def test_data_defaults_to_an_empty_object() -> None:
    """Leaving data out is the same as {}."""
    [[item]] = parse_publications({"channel": "monitor", "type": "note"})
    assert item.data == {}


def test_optional_fields_are_kept() -> None:
    """message, idempotency_key and version travel with the item."""
    [[item]] = parse_publications(
        _one(message="hi", idempotency_key="task-1", version=3)
    )
    assert (item.message, item.idempotency_key, item.version) == ("hi", "task-1", 3)


@pytest.mark.parametrize(
    ("message_type", "state"),
    [
        ("execution_status", True),
        ("pipeline_status", True),
        ("execution_update", False),
        ("status_changed", False),
    ],
)
def test_status_types_are_state_by_default(message_type: str, state: bool) -> None:
    """Types ending in _status are state unless told otherwise."""
    [[item]] = parse_publications(_one(type=message_type))
    assert item.state is state


def test_state_can_be_set_either_way() -> None:
    """An explicit state wins over the type's default."""
    [[off]] = parse_publications(_one(type="execution_status", state=False))
    [[on]] = parse_publications(_one(type="execution_update", state=True))
    assert (off.state, on.state) == (False, True)


def test_the_reserved_list_is_exactly_what_the_gateway_sends() -> None:
    """The types refused as reserved are exactly those the gateway sends itself."""
    assert RESERVED_TYPES == GATEWAY_TYPES


@pytest.mark.parametrize("message_type", sorted(GATEWAY_TYPES))
def test_a_type_the_gateway_sends_itself_is_reserved(message_type: str) -> None:
    """A publisher may not impersonate the gateway."""
    assert _code_of(_one(type=message_type)) is ErrorCode.RESERVED_TYPE


@pytest.mark.parametrize(
    "message_type",
    [
        "",
        "Execution",
        "1abc",
        "_x",
        "exec-update",
        "a b",
        "a" * 65,
        "exécution",
        "execution_update\n",
        5,
        None,
    ],
)
def test_a_malformed_type_is_invalid_type(message_type: object) -> None:
    """Types must match ^[a-z][a-z0-9_]{0,63}$."""
    assert _code_of(_one(type=message_type)) is ErrorCode.INVALID_TYPE


def test_a_missing_type_is_invalid_type() -> None:
    """Every publication has a type."""
    assert _code_of({"channel": "monitor"}) is ErrorCode.INVALID_TYPE


def test_the_longest_type_is_64_characters() -> None:
    """A 64-character type is fine."""
    [[item]] = parse_publications(_one(type="a" * 64))
    assert item.type == "a" * 64


@pytest.mark.parametrize("data", [[], [1, 2], "text", 42, None, True])
def test_data_that_is_not_an_object_is_invalid_data(data: object) -> None:
    """data is always an object."""
    assert _code_of(_one(data=data)) is ErrorCode.INVALID_DATA


@pytest.mark.parametrize(
    "fields",
    [
        {"channel": "execution:a.b"},
        {"channel": "build:1"},
        {"channel": "execution"},
        {"channel": 42},
        {"channel": None, "channels": ["execution:1", "nope"]},
        {"channel": None, "channels": []},
        {"channel": None, "channels": "execution:1"},
        {"channel": None, "channels": ["execution:1", "execution:1"]},
        {"channel": None, "channels": ["system", "execution:1"]},
        {"channel": None, "channels": ["execution:1", "system"]},
    ],
)
def test_a_bad_channel_is_invalid_channel(fields: dict[str, Any]) -> None:
    """Bad, repeated or mixed-with-system channels are invalid_channel."""
    assert _code_of(_one(**fields)) is ErrorCode.INVALID_CHANNEL


def test_channel_and_channels_together_are_refused() -> None:
    """A publication names its channels one way only."""
    assert _code_of(_one(channels=["execution:1"])) is ErrorCode.INVALID_MESSAGE


def test_no_channel_at_all_is_refused() -> None:
    """A publication names at least one channel."""
    assert _code_of({"type": "note"}) is ErrorCode.INVALID_MESSAGE


def test_an_unknown_field_is_refused() -> None:
    """A misspelt option is an error, not silently dropped."""
    assert _code_of(_one(idempotencyKey="x")) is ErrorCode.INVALID_MESSAGE


@pytest.mark.parametrize("entry", [[], "text", 1, None])
def test_a_list_entry_that_is_not_an_object_is_refused(entry: object) -> None:
    """Each publication in a list is an object."""
    assert _code_of([_one(), entry]) is ErrorCode.INVALID_MESSAGE


def test_an_empty_list_is_refused() -> None:
    """An empty list publishes nothing and says so."""
    assert _code_of([]) is ErrorCode.INVALID_MESSAGE


def test_a_list_of_1000_is_accepted() -> None:
    """Up to 1000 publications a request."""
    assert len(parse_publications([_one()] * 1000)) == 1000


def test_a_list_over_1000_is_payload_too_large() -> None:
    """1001 publications are too many."""
    assert _code_of([_one()] * 1001) is ErrorCode.PAYLOAD_TOO_LARGE


def test_an_error_in_a_list_says_which_publication() -> None:
    """The detail names the index of the bad publication."""
    with pytest.raises(ProtocolError) as caught:
        parse_publications([_one(), _one(type="Bad")])
    assert "publication 1" in caught.value.detail
