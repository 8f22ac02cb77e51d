"""The bus: joining, catching up, going live, and who receives what."""

from __future__ import annotations

from realtime.bus.bus import Bus
from realtime.bus.subscription import Subscription
from realtime.protocol.channels import MONITOR, SYSTEM, parse_channel
from realtime.protocol.envelope import Message, gateway_message
from realtime.protocol.filters import EventFilter
from tests.bus.support import Recorder, item, started_bus

EXECUTION = parse_channel("execution:1")


async def _joined(
    bus: Bus, recorder: Recorder, since: int | None = None, epoch: str | None = None
) -> None:
    join = await bus.join(recorder, EXECUTION, since=since, epoch=epoch)
    bus.activate(join)


async def _epoch(bus: Bus) -> str:
    return (await bus.read(EXECUTION)).epoch


async def test_a_subscriber_gets_live_messages_in_order() -> None:
    """Published messages reach a joined subscriber in publish order."""
    bus = await started_bus()
    recorder = Recorder()
    await _joined(bus, recorder)
    await bus.publish([item("execution:1", data={"n": n}) for n in range(5)])
    assert recorder.offsets == [1, 2, 3, 4, 5]


async def test_a_new_subscriber_gets_the_state_then_live_only() -> None:
    """No recovery asked: the state, then live messages, never older history."""
    bus = await started_bus()
    await bus.publish(
        [
            item("execution:1", "log_line"),
            item("execution:1", "execution_status"),
            item("execution:1", "log_line"),
        ]
    )
    recorder = Recorder()
    await _joined(bus, recorder)
    await bus.publish([item("execution:1", "log_line")])
    assert recorder.offsets == [2, 4]


async def test_a_new_subscriber_of_a_channel_without_state_gets_nothing_old() -> None:
    """No state, no recovery: only what is published after joining."""
    bus = await started_bus()
    await bus.publish([item("execution:1", "log_line") for _ in range(3)])
    recorder = Recorder()
    await _joined(bus, recorder)
    await bus.publish([item("execution:1", "log_line")])
    assert recorder.offsets == [4]


async def test_recovery_gives_every_missed_message_then_live() -> None:
    """since and the right epoch: what came after since, then live, in order."""
    bus = await started_bus()
    await bus.publish([item("execution:1") for _ in range(5)])
    recorder = Recorder()
    join = await bus.join(recorder, EXECUTION, since=2, epoch=await _epoch(bus))
    assert join.recovered is True
    bus.activate(join)
    await bus.publish([item("execution:1")])
    assert recorder.offsets == [3, 4, 5, 6]


async def test_live_messages_wait_until_the_catch_up_is_sent() -> None:
    """What is published while joining comes after the missed messages."""
    bus = await started_bus()
    await bus.publish([item("execution:1") for _ in range(3)])
    recorder = Recorder()
    join = await bus.join(recorder, EXECUTION, since=1, epoch=await _epoch(bus))
    await bus.publish([item("execution:1"), item("execution:1")])
    assert recorder.messages == []
    seen_before_live: list[list[int | None]] = []
    bus.activate(join, lambda: seen_before_live.append(list(recorder.offsets)))
    assert seen_before_live == [[2, 3]]
    assert recorder.offsets == [2, 3, 4, 5]


async def test_a_message_both_kept_and_live_arrives_once() -> None:
    """A message read from history and also delivered live is sent once."""
    bus = await started_bus()
    delivered: list[Message] = []
    bus.hooks.append(lambda message, count: delivered.append(message))
    await bus.publish([item("execution:1") for _ in range(3)])
    recorder = Recorder()
    join = await bus.join(recorder, EXECUTION, since=0, epoch=await _epoch(bus))
    for message in delivered[-2:]:  # the backend hands 2 and 3 over again
        bus._dispatch(message)
    bus.activate(join)
    await bus.publish([item("execution:1")])
    assert recorder.offsets == [1, 2, 3, 4]


async def test_a_subscription_drops_offsets_it_already_delivered() -> None:
    """Offsets at or below the last delivered are dropped within one epoch."""
    recorder = Recorder()
    subscription = Subscription(recorder, "execution:1")
    subscription.pending = None
    subscription.epoch = "e1"
    for offset in (1, 2, 2, 1, 3):
        subscription.advance(Message("x", "execution:1", {}, offset=offset, epoch="e1"))
    assert recorder.offsets == [1, 2, 3]


async def test_a_new_epoch_restarts_the_subscriptions_offsets() -> None:
    """After a restart offsets start again, and the lower ones are delivered."""
    recorder = Recorder()
    subscription = Subscription(recorder, "execution:1")
    subscription.pending = None
    subscription.epoch = "old"
    subscription.offset = 40
    subscription.advance(Message("x", "execution:1", {}, offset=1, epoch="new"))
    assert recorder.offsets == [1]


async def test_a_wrong_epoch_is_not_recovered_and_gets_the_state() -> None:
    """Epoch mismatch: recovered false and the state instead of history."""
    bus = await started_bus()
    await bus.publish(
        [item("execution:1", "execution_status"), item("execution:1", "log_line")]
    )
    recorder = Recorder()
    join = await bus.join(recorder, EXECUTION, since=0, epoch="not-the-epoch")
    assert join.recovered is False
    bus.activate(join)
    assert recorder.offsets == [1]


async def test_history_that_no_longer_reaches_back_is_not_recovered() -> None:
    """A since older than the kept history: recovered false, state instead."""
    bus = await started_bus(history_size=2)
    await bus.publish([item("execution:1", "execution_status")])
    await bus.publish([item("execution:1", "log_line") for _ in range(3)])
    recorder = Recorder()
    join = await bus.join(recorder, EXECUTION, since=0, epoch=await _epoch(bus))
    assert join.recovered is False
    bus.activate(join)
    assert recorder.types == ["execution_status"]


async def test_recovered_is_none_when_no_recovery_was_asked() -> None:
    """Only a join with since reports recovered."""
    bus = await started_bus()
    join = await bus.join(Recorder(), EXECUTION)
    assert join.recovered is None


async def test_a_subscription_filter_narrows_what_arrives() -> None:
    """A subscription's events filter drops other types."""
    bus = await started_bus()
    recorder = Recorder()
    join = await bus.join(recorder, EXECUTION, events=EventFilter(["log_update"]))
    bus.activate(join)
    await bus.publish(
        [item("execution:1", "execution_update"), item("execution:1", "log_line")]
    )
    assert recorder.types == ["log_line"]


async def test_leaving_stops_delivery() -> None:
    """After leave, the channel's messages no longer arrive."""
    bus = await started_bus()
    recorder = Recorder()
    await _joined(bus, recorder)
    assert bus.leave(recorder, EXECUTION)
    await bus.publish([item("execution:1")])
    assert recorder.messages == []
    assert not bus.leave(recorder, EXECUTION)


async def test_system_reaches_every_attached_connection() -> None:
    """system is delivered to every connection, whatever it follows."""
    bus = await started_bus()
    following, idle = Recorder(), Recorder()
    bus.attach(idle)
    bus.attach(following)
    await _joined(bus, following)
    await bus.publish([item("system", "maintenance")])
    assert following.types == idle.types == ["maintenance"]


async def test_a_connection_following_system_gets_it_once() -> None:
    """Joining system as well as being attached does not double it."""
    bus = await started_bus()
    recorder = Recorder()
    bus.attach(recorder)
    bus.activate(await bus.join(recorder, SYSTEM))
    await bus.publish([item("system", "maintenance")])
    assert recorder.types == ["maintenance"]


async def test_a_connections_filter_applies_to_system_too() -> None:
    """A connection that narrowed its events gets only matching system types."""
    bus = await started_bus()
    recorder = Recorder(events=EventFilter(["status_update"]))
    bus.attach(recorder)
    await bus.publish(
        [item("system", "maintenance"), item("system", "system_status_update")]
    )
    assert recorder.types == ["system_status_update"]


async def test_a_user_channel_reaches_every_connection_of_that_user() -> None:
    """user:{id} goes to each connection authenticated as that user, only."""
    bus = await started_bus()
    mine, also_mine, theirs = Recorder("7"), Recorder("7"), Recorder("8")
    for recorder in (mine, also_mine, theirs):
        bus.attach(recorder)
    await bus.publish([item("user:7", "notification")])
    assert mine.types == also_mine.types == ["notification"]
    assert theirs.messages == []


async def test_a_detached_connection_gets_nothing_more() -> None:
    """Detach forgets a connection everywhere."""
    bus = await started_bus()
    recorder = Recorder("7")
    bus.attach(recorder)
    await _joined(bus, recorder)
    bus.detach(recorder)
    await bus.publish(
        [item("execution:1"), item("system", "maintenance"), item("user:7", "note")]
    )
    assert recorder.messages == []
    assert bus.connection_count == 0


async def test_broadcast_sends_the_gateways_own_message_to_followers() -> None:
    """system_metrics-like messages reach monitor followers, without offsets."""
    bus = await started_bus()
    watcher, other = Recorder(), Recorder()
    bus.activate(await bus.join(watcher, MONITOR))
    bus.activate(await bus.join(other, EXECUTION))
    assert bus.broadcast(MONITOR, gateway_message("system_metrics", {})) == 1
    assert watcher.types == ["system_metrics"]
    assert other.messages == []
