"""Event filters: which published types a connection wants."""

from __future__ import annotations

import pytest

from realtime.protocol.filters import EventFilter


def test_an_empty_filter_accepts_everything() -> None:
    """No events listed means every type."""
    assert EventFilter().accepts("anything_at_all")
    assert EventFilter([]).accepts("build_log")


def test_a_listed_type_is_accepted_and_others_are_not() -> None:
    """A filter of exact types accepts exactly those."""
    events = EventFilter(["pipeline_created"])
    assert events.accepts("pipeline_created")
    assert not events.accepts("pipeline_deleted")


@pytest.mark.parametrize(
    "message_type",
    ["execution_status", "step_update", "progress", "build_progress", "status"],
)
def test_status_update_stands_for_status_update_and_progress_types(
    message_type: str,
) -> None:
    """status_update accepts every type containing status, update or progress."""
    assert EventFilter(["status_update"]).accepts(message_type)


@pytest.mark.parametrize("message_type", ["log_line", "build_log", "logs", "catalog"])
def test_log_update_stands_for_every_type_containing_log(message_type: str) -> None:
    """log_update accepts every type containing log."""
    assert EventFilter(["log_update"]).accepts(message_type)


def test_a_group_does_not_accept_types_outside_it() -> None:
    """log_update refuses status types and status_update refuses log lines."""
    assert not EventFilter(["log_update"]).accepts("execution_status")
    assert not EventFilter(["status_update"]).accepts("log_line")


def test_the_filter_remembers_its_events_once_each_in_order() -> None:
    """Listed events are kept in order without repeats."""
    assert EventFilter(["b", "a", "b"]).events == ("b", "a")
