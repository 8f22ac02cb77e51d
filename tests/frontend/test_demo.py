"""realtime.demo: simulated runs, as publications the gateway accepts."""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from typing import Any

import httpx
import pytest

from realtime.demo import FIRST_EXECUTION_ID, run_demo
from tests.frontend.support import Gateway

TYPE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
CHANNEL = re.compile(
    r"^(monitor|system|(pipeline|execution|project|user):[A-Za-z0-9_-]{1,64})$"
)
GATEWAY_OWN = {
    "connection",
    "pong",
    "subscribed",
    "unsubscribed",
    "authenticated",
    "recovery",
    "error",
    "control_result",
    "system_metrics",
}


async def collect(runs: int) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []

    async def publish(body: dict[str, Any]) -> object:
        bodies.append(body)
        return {"results": []}

    await asyncio.wait_for(run_demo(publish, runs=runs, pace=0.01), timeout=20)
    return bodies


def channels_of(body: dict[str, Any]) -> list[str]:
    if "channels" in body:
        channels: list[str] = body["channels"]
        return channels
    return [body["channel"]]


async def test_every_publication_is_valid() -> None:
    for body in await collect(3):
        assert TYPE.match(body["type"]), body
        assert body["type"] not in GATEWAY_OWN, body
        assert isinstance(body["data"], dict), body
        for channel in channels_of(body):
            assert CHANNEL.match(channel), body
        if body["type"] == "log_entry":
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", body["data"]["timestamp"])
        # Ids are strings everywhere.
        for key in ("execution_id", "pipeline_id", "step_id"):
            if key in body["data"]:
                assert isinstance(body["data"][key], str), body


async def test_runs_walk_their_steps_and_the_third_fails() -> None:
    bodies = await collect(3)
    by_execution: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for body in bodies:
        for channel in channels_of(body):
            if channel.startswith("execution:"):
                by_execution[channel.removeprefix("execution:")].append(body)
    first = str(FIRST_EXECUTION_ID)
    assert list(by_execution) == [first, "43", "44"]
    finals = {}
    for execution_id, messages in by_execution.items():
        states = [m["data"] for m in messages if m["type"] == "execution_status"]
        assert states[0]["status"] == "pending"
        assert all(s["status"] == "pending" for s in states[0]["steps"])
        finals[execution_id] = states[-1]["status"]
        # Each step goes pending -> running -> success/failed (or is skipped).
        step_history: dict[str, list[str]] = defaultdict(list)
        for m in messages:
            if m["type"] == "step_progress":
                step_history[m["data"]["step_name"]].append(m["data"]["status"])
        for history in step_history.values():
            assert history in (
                ["running", "success"],
                ["running", "failed"],
                ["skipped"],
            )
        assert any(m["type"] == "log_entry" for m in messages)
        last = states[-1]
        assert last["completed_steps"] == last["total_steps"] == len(last["steps"])
    assert finals == {first: "success", "43": "success", "44": "failed"}


async def test_pipeline_updates_and_notices() -> None:
    bodies = await collect(1)
    pipeline = [b for b in bodies if b["type"] == "pipeline_update"]
    assert pipeline
    assert all("monitor" in channels_of(b) for b in pipeline)
    assert pipeline[-1]["data"]["progress"] == 100
    notices = [b for b in bodies if b["type"] == "system_notification"]
    assert len(notices) == 1
    assert notices[0]["channel"] == "system"
    assert set(notices[0]["data"]) >= {"level", "title", "message"}


async def test_a_failing_publish_does_not_stop_the_demo() -> None:
    calls = 0

    async def flaky(body: dict[str, Any]) -> object:
        nonlocal calls
        calls += 1
        if calls % 5 == 0:
            raise ConnectionError("backend hiccup")
        return None

    await asyncio.wait_for(run_demo(flaky, runs=1, pace=0), timeout=10)
    assert calls > 20


async def test_runs_none_goes_on_until_cancelled() -> None:
    seen = 0

    async def publish(body: dict[str, Any]) -> object:
        nonlocal seen
        seen += 1
        return None

    task = asyncio.create_task(run_demo(publish, pace=0.001))
    await asyncio.sleep(0.5)
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen > 100


async def test_rejects_nonsense() -> None:
    async def publish(body: dict[str, Any]) -> object:
        return None

    with pytest.raises(ValueError, match="runs"):
        await run_demo(publish, runs=-1)
    with pytest.raises(ValueError, match="pace"):
        await run_demo(publish, pace=-1)


@pytest.mark.timeout(60)
async def test_the_gateway_accepts_a_demo_run(page_gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=page_gateway.url, timeout=10) as http:

        async def publish(body: dict[str, Any]) -> object:
            answer = await http.post("/api/publish", json=body)
            assert answer.status_code == 200, answer.text
            return answer.json()

        await run_demo(publish, runs=1, pace=0.001)
        state = await http.get("/health")
        assert state.status_code == 200
