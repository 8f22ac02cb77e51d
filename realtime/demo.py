"""Simulated pipeline runs, published the way the platform's backend would publish them.

``run_demo`` drives the live page (and anyone watching) without a CI/CD platform:
each run walks a pipeline's steps from pending through running to success or failed,
publishing what the backend publishes for a real run: the execution's state
(``execution_status``), per-step ``step_progress``, ``log_entry`` lines, a
``pipeline_update`` on the pipeline (and the global ``monitor`` feed) and a
``system_notification`` when the run ends.

Everything goes through ``publish(body)`` with ``body`` shaped like one publication of
``POST /api/publish``, so the same function can feed the in-process bus, the HTTP API
or the Python publisher.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

__all__ = ["DEMO_PIPELINE_ID", "FIRST_EXECUTION_ID", "PIPELINE_NAME", "run_demo"]

logger = logging.getLogger(__name__)

Publish = Callable[[dict[str, Any]], Awaitable[object]]

# The live page follows execution 42 unless told otherwise, so the first run uses it.
FIRST_EXECUTION_ID: Final = 42
DEMO_PIPELINE_ID: Final = "7"
PIPELINE_NAME: Final = "demo-service: build and deploy"

# Every third run fails, at its test step: the page then shows both outcomes within
# a few runs, and the sequence stays deterministic for tests.
FAILING_RUN_EVERY: Final = 3
FAILING_STEP: Final = "test"

# Pauses in seconds at pace 1.0: slow enough to watch, quick enough to see a run end.
LINE_PAUSE: Final = 0.4
STEP_PAUSE: Final = 0.6
RUN_PAUSE: Final = 5.0


def _now() -> str:
    """UTC ISO-8601 with a ``Z``, to the millisecond, like the envelope's timestamp."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class _StepPlan:
    name: str
    lines: tuple[str, ...]


_STEPS: Final = (
    _StepPlan(
        "checkout",
        ("Cloning repository demo-service", "Checked out main at 3f9c2ab"),
    ),
    _StepPlan(
        "install",
        (
            "Resolving dependencies from uv.lock",
            "Installed 48 packages in 2.1s",
        ),
    ),
    _StepPlan("lint", ("ruff check .", "All checks passed")),
    _StepPlan(
        "test",
        (
            "pytest -q",
            "collected 212 items",
            "212 passed in 14.2s",
        ),
    ),
    _StepPlan(
        "build",
        (
            "docker build -t demo-service:3f9c2ab .",
            "Successfully tagged demo-service:3f9c2ab",
        ),
    ),
    _StepPlan(
        "deploy",
        (
            "Rolling out demo-service:3f9c2ab to staging",
            "3/3 replicas ready",
        ),
    ),
)


@dataclass
class _Step:
    step_id: str
    name: str
    order: int
    status: str = "pending"
    execution_time: float | None = None
    error_message: str | None = None

    def as_data(self) -> dict[str, Any]:
        return {
            "step_id": self.step_id,
            "step_name": self.name,
            "status": self.status,
            "order": self.order,
            "execution_time": self.execution_time,
            "error_message": self.error_message,
        }


class _Run:
    """One simulated execution and the publications that describe it."""

    def __init__(self, publish: Publish, index: int, pace: float) -> None:
        self._publish = publish
        self._pace = pace
        self.execution_id = str(FIRST_EXECUTION_ID + index)
        self.fails = index % FAILING_RUN_EVERY == FAILING_RUN_EVERY - 1
        self.status = "pending"
        self.current_step: str | None = None
        self.steps = [
            _Step(step_id=f"{self.execution_id}-{i + 1}", name=plan.name, order=i + 1)
            for i, plan in enumerate(_STEPS)
        ]

    @property
    def channel(self) -> str:
        return f"execution:{self.execution_id}"

    async def _send(self, body: dict[str, Any]) -> None:
        # A demo that loops forever must outlive one failed publication (a restarting
        # Redis, a full queue); the next publication carries the state again anyway.
        try:
            await self._publish(body)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning(
                "demo publication to %s failed", body.get("channel"), exc_info=True
            )

    async def _pause(self, seconds: float) -> None:
        await asyncio.sleep(seconds * self._pace)

    def _completed(self) -> int:
        return sum(s.status in ("success", "failed", "skipped") for s in self.steps)

    async def publish_state(self) -> None:
        await self._send(
            {
                "channel": self.channel,
                "type": "execution_status",
                "data": {
                    "execution_id": self.execution_id,
                    "status": self.status,
                    "pipeline_id": DEMO_PIPELINE_ID,
                    "pipeline_name": PIPELINE_NAME,
                    "steps": [s.as_data() for s in self.steps],
                    "total_steps": len(self.steps),
                    "completed_steps": self._completed(),
                    "current_step": self.current_step,
                },
            }
        )

    async def publish_pipeline(self) -> None:
        # The monitor feed gets it too, so a dashboard can offer the newest run.
        await self._send(
            {
                "channels": [f"pipeline:{DEMO_PIPELINE_ID}", "monitor"],
                "type": "pipeline_update",
                "data": {
                    "pipeline_id": DEMO_PIPELINE_ID,
                    "pipeline_name": PIPELINE_NAME,
                    "execution_id": self.execution_id,
                    "status": self.status,
                    "progress": round(100 * self._completed() / len(self.steps)),
                },
            }
        )

    async def publish_step(self, step: _Step, output: str | None = None) -> None:
        await self._send(
            {
                "channel": self.channel,
                "type": "step_progress",
                "data": {
                    "execution_id": self.execution_id,
                    "step_id": step.step_id,
                    "step_name": step.name,
                    "status": step.status,
                    "execution_time": step.execution_time,
                    "output": output,
                    "error_message": step.error_message,
                },
            }
        )

    async def log(self, step: _Step | None, level: str, message: str) -> None:
        await self._send(
            {
                "channel": self.channel,
                "type": "log_entry",
                "data": {
                    "execution_id": self.execution_id,
                    "level": level,
                    "message": message,
                    "step_name": step.name if step else None,
                    "source": "runner",
                    # request_logs hands back only `data`: the line keeps its own time.
                    "timestamp": _now(),
                },
            }
        )

    async def run_step(self, step: _Step, plan: _StepPlan) -> bool:
        """Runs one step; False when it failed."""
        step.status = "running"
        self.current_step = step.name
        await self.publish_step(step)
        await self.publish_state()
        lines = list(plan.lines)
        failing = self.fails and plan.name == FAILING_STEP
        if failing:
            lines[-1] = "1 failed, 211 passed in 14.9s"
        started = 0.0
        for line in lines:
            await self._pause(LINE_PAUSE)
            started += LINE_PAUSE
            await self.log(step, "info", line)
        await self._pause(STEP_PAUSE)
        step.execution_time = round(started + STEP_PAUSE, 2)
        if failing:
            step.status = "failed"
            step.error_message = "tests/test_api.py::test_health failed: 503 != 200"
            await self.log(step, "error", step.error_message)
        else:
            step.status = "success"
            await self.log(step, "success", f"{step.name} finished")
        await self.publish_step(step, output="\n".join(lines))
        return not failing

    async def run(self) -> None:
        await self.publish_state()
        await self.publish_pipeline()
        await self._pause(STEP_PAUSE)
        self.status = "running"
        await self.log(None, "info", f"Execution {self.execution_id} started")
        await self.publish_state()
        ok = True
        for step, plan in zip(self.steps, _STEPS, strict=True):
            if not ok:
                # Steps after a failure never run; the old platform showed them skipped.
                step.status = "skipped"
                await self.publish_step(step)
                continue
            ok = await self.run_step(step, plan)
            await self.publish_state()
            await self.publish_pipeline()
        self.status = "success" if ok else "failed"
        self.current_step = None
        await self.log(
            None,
            "success" if ok else "error",
            f"Execution {self.execution_id} {self.status}",
        )
        await self.publish_state()
        await self.publish_pipeline()
        await self._send(
            {
                "channel": "system",
                "type": "system_notification",
                "data": {
                    "level": "success" if ok else "error",
                    "title": f"Execution {self.execution_id} {self.status}",
                    "message": f"{PIPELINE_NAME} finished with status {self.status}.",
                    "execution_id": self.execution_id,
                },
            }
        )


async def run_demo(
    publish: Callable[[dict[str, Any]], Awaitable[object]],
    *,
    runs: int | None = None,
    pace: float = 1.0,
) -> None:
    """Publishes simulated pipeline runs through ``publish``.

    Args:
        publish: sends one publication (a ``POST /api/publish`` body with one channel
            or a ``channels`` list) and may return whatever the backend answers.
        runs: how many runs to simulate; ``None`` runs until cancelled.
        pace: scales every pause; ``0.01`` makes a run take a few tens of ms.
    """
    if runs is not None and runs < 0:
        raise ValueError("runs must be None or >= 0")
    if pace < 0:
        raise ValueError("pace must be >= 0")
    index = 0
    while runs is None or index < runs:
        run = _Run(publish, index, pace)
        logger.info("demo run %d: execution %s", index + 1, run.execution_id)
        await run.run()
        index += 1
        if runs is None or index < runs:
            await asyncio.sleep(RUN_PAUSE * pace)
