"""``realtime publish``: one message from a shell."""

from __future__ import annotations

import asyncio
import json

from tests.support.cli import clean_env, run_realtime
from tests.support.clients import new_id, ws_joined
from tests.support.gateway import RunningGateway
from tests.support.tokens import API_KEY


async def test_publish_prints_the_result_and_subscribers_get_it(
    gateway: RunningGateway,
) -> None:
    """The message arrives; stdout is one JSON result per channel."""
    channel = f"execution:{new_id()}"
    async with ws_joined(gateway, "/ws/" + channel.replace(":", "/")) as client:
        finished = await run_realtime(
            "publish", channel, "execution_update", '{"progress": 50}',
            "--message", "half way", "--url", gateway.url,
        )  # fmt: skip
        message = await client.next()
    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout) == {"channel": channel, "offset": 1}
    assert (message["type"], message["data"]) == ("execution_update", {"progress": 50})
    assert message["message"] == "half way"


async def test_publish_to_comma_separated_channels(gateway: RunningGateway) -> None:
    """execution:1,project:2 publishes to both, one line each; DATA defaults to {}."""
    first, second = f"execution:{new_id()}", f"project:{new_id()}"
    async with ws_joined(gateway, "/ws/" + first.replace(":", "/")) as client:
        finished = await run_realtime(
            "publish", f"{first},{second}", "note", "--url", gateway.url
        )
        message = await client.next()
    lines = [json.loads(line) for line in finished.stdout.splitlines()]
    assert lines == [{"channel": first, "offset": 1}, {"channel": second, "offset": 1}]
    assert message["data"] == {}


async def test_publish_options_reach_the_gateway(gateway: RunningGateway) -> None:
    """--state makes state; a repeated --idempotency-key prints the first offset."""
    stateful, keyed = f"execution:{new_id()}", f"execution:{new_id()}"
    url = ("--url", gateway.url)
    _, first = await asyncio.gather(
        run_realtime("publish", stateful, "step_done", "--state", *url),
        run_realtime("publish", keyed, "log_line", "--idempotency-key", "k", *url),
    )
    again = await run_realtime(
        "publish", keyed, "log_line", "--idempotency-key", "k", *url
    )
    async with ws_joined(gateway, "/ws/" + stateful.replace(":", "/")) as client:
        state = await client.next()
    assert json.loads(first.stdout) == json.loads(again.stdout)
    assert json.loads(again.stdout) == {"channel": keyed, "offset": 1}
    assert (state["type"], state["offset"]) == ("step_done", 1)


async def test_publish_with_the_api_key(secure_gateway: RunningGateway) -> None:
    """--api-key, or REALTIME_API_KEY with REALTIME_PUBLISH_URL, gets through."""
    by_flag, by_env = await asyncio.gather(
        run_realtime(
            "publish", f"execution:{new_id()}", "log_line",
            "--url", secure_gateway.url, "--api-key", API_KEY,
        ),
        run_realtime(
            "publish", f"execution:{new_id()}", "log_line",
            env=clean_env(
                REALTIME_API_KEY=API_KEY, REALTIME_PUBLISH_URL=secure_gateway.url
            ),
        ),
    )  # fmt: skip
    assert by_flag.returncode == by_env.returncode == 0, by_flag.stderr + by_env.stderr
    assert json.loads(by_flag.stdout)["offset"] == 1
    assert json.loads(by_env.stdout)["offset"] == 1


async def test_publish_refusals_exit_non_zero_with_the_code(
    gateway: RunningGateway, secure_gateway: RunningGateway
) -> None:
    """Each refusal exits non-zero, names its code on stderr and prints nothing."""
    cases = [
        (("execution:1", "log_line", "--url", secure_gateway.url, "--api-key", "x"),
         "unauthorized"),
        (("execution:1", "pong", "--url", gateway.url), "reserved_type"),
        (("execution:a.b", "log_line", "--url", gateway.url), "invalid_channel"),
        (("execution:1", "log_line", "[1, 2]", "--url", gateway.url), "invalid_data"),
        (("execution:1", "log_line", "{oops", "--url", gateway.url), "not JSON"),
    ]  # fmt: skip
    results = await asyncio.gather(
        *(run_realtime("publish", *args) for args, _ in cases)
    )
    for (_, expected), finished in zip(cases, results, strict=True):
        assert finished.returncode != 0, expected
        assert expected in finished.stderr
        assert finished.stdout == ""
