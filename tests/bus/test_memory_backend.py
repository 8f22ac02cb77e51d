"""The memory backend: offsets, epochs, history, state, idempotency, versions."""

from __future__ import annotations

import pytest

from realtime.bus import memory as memory_module
from realtime.protocol.envelope import Message
from tests.bus.support import item, memory


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(memory_module.time, "monotonic", clock)
    return clock


async def _delivered_by(backend: memory_module.MemoryBackend) -> list[Message]:
    delivered: list[Message] = []
    await backend.start(delivered.append)
    return delivered


async def test_offsets_start_at_one_and_rise_by_one() -> None:
    """Each message of a channel is one above the last."""
    backend = memory()
    results = await backend.publish([item("execution:1") for _ in range(3)])
    assert [result.offset for result in results] == [1, 2, 3]


async def test_each_channel_counts_its_own_offsets() -> None:
    """Offsets are per channel."""
    backend = memory()
    results = await backend.publish(
        [item("execution:1"), item("execution:2"), item("execution:1")]
    )
    assert [(r.channel, r.offset) for r in results] == [
        ("execution:1", 1),
        ("execution:2", 1),
        ("execution:1", 2),
    ]


async def test_every_published_message_is_delivered_in_order() -> None:
    """The backend hands each stored message to the bus, in publish order."""
    backend = memory()
    delivered = await _delivered_by(backend)
    await backend.publish([item("execution:1", data={"n": n}) for n in range(5)])
    assert [m.data["n"] for m in delivered] == [0, 1, 2, 3, 4]
    assert [m.offset for m in delivered] == [1, 2, 3, 4, 5]


async def test_a_message_carries_its_channels_epoch() -> None:
    """Published messages name the history's generation."""
    backend = memory()
    delivered = await _delivered_by(backend)
    await backend.publish([item("execution:1")])
    page = await backend.read("execution:1")
    assert delivered[0].epoch == page.epoch


async def test_a_new_backend_starts_a_new_epoch_and_offsets_again() -> None:
    """When history is lost (a restart), the epoch changes and offsets restart."""
    first, second = memory(), memory()
    await first.publish([item("execution:1"), item("execution:1")])
    [result] = await second.publish([item("execution:1")])
    assert result.offset == 1
    assert (await first.read("execution:1")).epoch != (
        await second.read("execution:1")
    ).epoch


async def test_reading_without_since_gives_no_history() -> None:
    """A plain read is offset, epoch and state only."""
    backend = memory()
    await backend.publish([item("execution:1") for _ in range(3)])
    page = await backend.read("execution:1")
    assert (page.offset, page.messages) == (3, [])


async def test_reading_since_gives_what_came_after_in_order() -> None:
    """since is the last offset seen: everything after it, oldest first."""
    backend = memory()
    await backend.publish([item("execution:1") for _ in range(5)])
    page = await backend.read("execution:1", since=2)
    assert [m.offset for m in page.messages] == [3, 4, 5]
    assert page.complete


async def test_reading_since_the_current_offset_is_complete_and_empty() -> None:
    """A client that saw everything misses nothing."""
    backend = memory()
    await backend.publish([item("execution:1") for _ in range(2)])
    page = await backend.read("execution:1", since=2)
    assert (page.messages, page.complete) == ([], True)


async def test_reading_since_an_offset_never_reached_is_incomplete() -> None:
    """since beyond the channel's offset cannot be recovered."""
    backend = memory()
    await backend.publish([item("execution:1")])
    assert not (await backend.read("execution:1", since=5)).complete


async def test_history_keeps_only_the_last_history_size_messages() -> None:
    """History is bounded; asking from before it is incomplete."""
    backend = memory(history_size=3)
    await backend.publish([item("execution:1") for _ in range(5)])
    page = await backend.read("execution:1", since=0)
    assert [m.offset for m in page.messages] == [3, 4, 5]
    assert not page.complete
    assert (await backend.read("execution:1", since=2)).complete


async def test_history_forgets_messages_older_than_its_ttl(clock: Clock) -> None:
    """Messages older than history_ttl are no longer kept."""
    backend = memory(history_ttl=60)
    await backend.publish([item("execution:1")])
    clock.now += 40
    await backend.publish([item("execution:1")])
    clock.now += 30
    page = await backend.read("execution:1", since=0)
    assert [m.offset for m in page.messages] == [2]
    assert not page.complete


async def test_the_latest_state_publication_is_the_state() -> None:
    """The last message published with state true is the channel's state."""
    backend = memory()
    await backend.publish(
        [
            item("execution:1", "execution_update", state=True, data={"n": 1}),
            item("execution:1", "execution_update", state=True, data={"n": 2}),
            item("execution:1", "log_line", data={"line": "x"}),
        ]
    )
    state = (await backend.read("execution:1")).state
    assert state is not None
    assert state.data == {"n": 2}


async def test_status_types_are_state_by_default() -> None:
    """A *_status publication becomes the state without saying so."""
    backend = memory()
    await backend.publish([item("execution:1", "execution_status", data={"s": 1})])
    state = (await backend.read("execution:1")).state
    assert state is not None
    assert state.type == "execution_status"


async def test_a_status_type_published_with_state_false_is_not_state() -> None:
    """state false overrides the default."""
    backend = memory()
    await backend.publish([item("execution:1", "execution_status", state=False)])
    assert (await backend.read("execution:1")).state is None


async def test_an_older_version_of_state_is_stale() -> None:
    """A late "running" never overwrites "success"."""
    backend = memory()
    delivered = await _delivered_by(backend)
    await backend.publish(
        [item("execution:1", "execution_status", version=2, data={"s": "success"})]
    )
    [result] = await backend.publish(
        [item("execution:1", "execution_status", version=1, data={"s": "running"})]
    )
    assert (result.offset, result.stale) == (None, True)
    assert result.as_json() == {"channel": "execution:1", "offset": None, "stale": True}
    state = (await backend.read("execution:1")).state
    assert state is not None
    assert state.data == {"s": "success"}
    assert len(delivered) == 1


async def test_a_newer_or_equal_version_of_state_replaces_it() -> None:
    """Versions at or above the state's are published."""
    backend = memory()
    results = await backend.publish(
        [
            item("execution:1", "execution_status", version=2),
            item("execution:1", "execution_status", version=2),
            item("execution:1", "execution_status", version=5),
        ]
    )
    assert [r.offset for r in results] == [1, 2, 3]


async def test_a_stale_publication_uses_no_offset() -> None:
    """The next publication after a stale one is the next offset."""
    backend = memory()
    await backend.publish([item("execution:1", "execution_status", version=2)])
    await backend.publish([item("execution:1", "execution_status", version=1)])
    [result] = await backend.publish([item("execution:1", "log_line")])
    assert result.offset == 2


async def test_a_repeated_idempotency_key_publishes_nothing() -> None:
    """A repeat answers with the first offset and delivers nothing."""
    backend = memory()
    delivered = await _delivered_by(backend)
    [first] = await backend.publish([item("execution:1", idempotency_key="task-9")])
    await backend.publish([item("execution:1")])
    [again] = await backend.publish([item("execution:1", idempotency_key="task-9")])
    assert again == first
    assert len(delivered) == 2
    assert (await backend.read("execution:1")).offset == 2


async def test_an_idempotency_key_is_per_channel() -> None:
    """The same key on another channel publishes there."""
    backend = memory()
    results = await backend.publish(
        [
            item("execution:1", idempotency_key="k"),
            item("execution:2", idempotency_key="k"),
        ]
    )
    assert [r.offset for r in results] == [1, 1]


async def test_an_idempotency_key_expires_after_its_ttl(clock: Clock) -> None:
    """After the TTL (5 minutes by default) the same key publishes again."""
    backend = memory(idempotency_ttl=300)
    await backend.publish([item("execution:1", idempotency_key="k")])
    clock.now += 299
    [within] = await backend.publish([item("execution:1", idempotency_key="k")])
    clock.now += 2
    [after] = await backend.publish([item("execution:1", idempotency_key="k")])
    assert (within.offset, after.offset) == (1, 2)
