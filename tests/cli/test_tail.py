"""``realtime tail``: a channel's messages on stdout, one JSON object a line."""

from __future__ import annotations

import json

from tests.support.cli import realtime_running
from tests.support.clients import new_id, publish
from tests.support.gateway import RunningGateway
from tests.support.tokens import access_token


async def test_tail_prints_the_greeting_then_each_message(
    gateway: RunningGateway,
) -> None:
    """connection first, then every published message as it comes, in order."""
    channel = f"execution:{new_id()}"
    async with realtime_running("tail", channel, "--url", gateway.ws_url) as tail:
        welcome = json.loads(await tail.line())
        for n in range(3):
            await publish(gateway, channel, "log_line", {"n": n})
        lines = [json.loads(await tail.line()) for _ in range(3)]
    assert (welcome["type"], welcome["data"]["channel"]) == ("connection", channel)
    assert [line["offset"] for line in lines] == [1, 2, 3]
    assert [line["data"] for line in lines] == [{"n": 0}, {"n": 1}, {"n": 2}]


async def test_tail_of_monitor_prints_system_status(gateway: RunningGateway) -> None:
    """tail monitor shows the gateway's own system_status after connecting."""
    async with realtime_running("tail", "monitor", "--url", gateway.url) as tail:
        types = [json.loads(await tail.line())["type"] for _ in range(2)]
    assert types == ["connection", "system_status"]


async def test_tail_with_events_prints_only_those_types(
    gateway: RunningGateway,
) -> None:
    """--events narrows the feed: other types are not printed."""
    channel = f"execution:{new_id()}"
    async with realtime_running(
        "tail", channel, "--url", gateway.ws_url, "--events", "log_update"
    ) as tail:
        assert json.loads(await tail.line())["type"] == "connection"
        assert json.loads(await tail.line())["type"] == "subscribed"
        await publish(gateway, channel, "execution_status")
        await publish(gateway, channel, "log_line")
        line = json.loads(await tail.line())
    assert (line["type"], line["offset"]) == ("log_line", 2)


async def test_tail_with_a_token_is_authenticated(
    secure_gateway: RunningGateway,
) -> None:
    """--token authenticates against a gateway with a secret."""
    channel = f"execution:{new_id()}"
    token = access_token("7")
    async with realtime_running(
        "tail", channel, "--url", secure_gateway.ws_url, "--token", token
    ) as tail:
        welcome = json.loads(await tail.line())
        await publish(secure_gateway, channel, "log_line")
        line = json.loads(await tail.line())
    assert (welcome["data"]["authenticated"], welcome["data"]["user_id"]) == (True, "7")
    assert line["offset"] == 1


async def test_tail_without_a_token_gives_up_on_4401(
    secure_gateway: RunningGateway,
) -> None:
    """Refused with 4401, tail stops with a non-zero exit instead of retrying."""
    channel = f"execution:{new_id()}"
    async with realtime_running(
        "tail", channel, "--url", secure_gateway.ws_url
    ) as tail:
        assert json.loads(await tail.line())["data"]["authenticated"] is False
        error = json.loads(await tail.line())
        code = await tail.wait()
        stderr = await tail.stderr()
    assert (error["type"], error["data"]["code"]) == ("error", "unauthorized")
    assert code != 0
    assert "4401" in stderr


async def test_tail_of_an_invalid_channel_fails(gateway: RunningGateway) -> None:
    """A channel name that is not one exits non-zero with the reason."""
    async with realtime_running(
        "tail", "execution:a.b", "--url", gateway.ws_url
    ) as tail:
        code = await tail.wait()
        stderr = await tail.stderr()
    assert code != 0
    assert "execution id" in stderr


async def test_tail_stops_cleanly_on_ctrl_c(gateway: RunningGateway) -> None:
    """Ctrl-C ends tail with exit status 0."""
    async with realtime_running("tail", "system", "--url", gateway.ws_url) as tail:
        assert json.loads(await tail.line())["type"] == "connection"
        tail.interrupt()
        code = await tail.wait()
    assert code == 0
