"""Channel names and ids, as the contract's table spells them."""

from __future__ import annotations

import pytest

from realtime.protocol.channels import ChannelKind, channel_of, parse_channel
from realtime.protocol.errors import ErrorCode, ProtocolError


@pytest.mark.parametrize(
    ("name", "kind", "channel_id"),
    [
        ("monitor", ChannelKind.MONITOR, None),
        ("system", ChannelKind.SYSTEM, None),
        ("pipeline:7", ChannelKind.PIPELINE, "7"),
        ("execution:42", ChannelKind.EXECUTION, "42"),
        ("project:web-app_2", ChannelKind.PROJECT, "web-app_2"),
        ("user:alice", ChannelKind.USER, "alice"),
    ],
)
def test_every_channel_of_the_table_parses(
    name: str, kind: ChannelKind, channel_id: str | None
) -> None:
    """Each channel of the table parses to its kind and id and prints back."""
    channel = parse_channel(name)
    assert (channel.kind, channel.id, channel.name) == (kind, channel_id, name)


@pytest.mark.parametrize(
    ("name", "namespace"),
    [
        ("monitor", "/monitor"),
        ("system", "/system"),
        ("pipeline:1", "/pipeline"),
        ("execution:1", "/execution"),
        ("project:1", "/project"),
    ],
)
def test_each_channel_lives_on_its_namespace(name: str, namespace: str) -> None:
    """A channel's Socket.IO namespace is the one the table gives."""
    assert parse_channel(name).namespace == namespace


@pytest.mark.parametrize(
    "channel_id",
    ["1", "a" * 64, "ABC-def_012", "-", "_"],
)
def test_an_id_is_1_to_64_of_the_allowed_characters(channel_id: str) -> None:
    """Ids of 1 to 64 characters of A-Z a-z 0-9 _ - are accepted."""
    assert parse_channel(f"execution:{channel_id}").id == channel_id


@pytest.mark.parametrize(
    "name",
    [
        "execution:",
        "execution:" + "a" * 65,
        "execution:a.b",
        "execution:a b",
        "execution:a/b",
        "execution:a:b",
        "execution:ü",
        "execution:42\n",
        "execution",
        "monitor:1",
        "system:x",
        "build:1",
        "",
        "Execution:1",
    ],
)
def test_a_bad_channel_name_is_invalid_channel(name: str) -> None:
    """Bad kinds, missing or extra ids and bad id characters raise invalid_channel."""
    with pytest.raises(ProtocolError) as caught:
        parse_channel(name)
    assert caught.value.code is ErrorCode.INVALID_CHANNEL


@pytest.mark.parametrize("name", [None, 42, ["execution:1"], {"channel": "x"}])
def test_a_channel_name_that_is_not_a_string_is_invalid_channel(name: object) -> None:
    """Only strings name channels."""
    with pytest.raises(ProtocolError) as caught:
        parse_channel(name)
    assert caught.value.code is ErrorCode.INVALID_CHANNEL


def test_a_numeric_id_becomes_a_string() -> None:
    """Ids are strings everywhere, even when the platform sends a number."""
    assert channel_of(ChannelKind.EXECUTION, 42).name == "execution:42"


@pytest.mark.parametrize("channel_id", [True, 4.2, None, ""])
def test_an_id_that_is_neither_string_nor_integer_is_refused(
    channel_id: object,
) -> None:
    """Booleans, floats, nothing and the empty string are not ids."""
    with pytest.raises(ProtocolError) as caught:
        channel_of(ChannelKind.PIPELINE, channel_id)
    assert caught.value.code is ErrorCode.INVALID_CHANNEL
