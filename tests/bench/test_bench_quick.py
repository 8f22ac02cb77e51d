"""The benchmark's quick mode runs end to end: it yields figures and loses nothing.

It proves the bench works, not that anything is fast: no figure is compared
with a threshold, since the machine is shared and its speed varies.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import RedisProcess

# Needs Node.js and npm: run with the other Node tests, `pytest -m node`.
pytestmark = pytest.mark.node

ROOT = Path(__file__).resolve().parents[2]
LOADGEN = ROOT / "bench" / "loadgen"
QUICK_SERVERS = {"gateway-socketio", "gateway-ws", "python-socketio"}


def _install_loadgen() -> None:
    if (LOADGEN / "node_modules").is_dir():
        return
    npm = shutil.which("npm")
    assert npm is not None, "the bench needs Node 18+ with npm on the PATH"
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"], cwd=LOADGEN, check=True, timeout=600
    )


def _assert_complete(phase: dict[str, Any], where: str) -> None:
    assert phase["published"] > 0, where
    assert phase["publish_failed"] == 0, where
    assert phase["delivered"] == phase["expected"] > 0, where
    assert phase["lost"] == 0, where
    assert phase["duplicates"] == 0, where
    assert phase["latency_ms"]["count"] == phase["delivered"], where


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    _install_loadgen()
    folder = tmp_path_factory.mktemp("bench")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--out",
            str(folder / "doc"),
            "--raw",
            str(folder / "raw"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + "\n" + done.stderr[-5000:]
    return folder, done.stdout


@pytest.mark.timeout(900)
def test_every_quick_server_yields_figures_without_loss(
    quick_run: tuple[Path, str],
) -> None:
    folder, _ = quick_run
    run = json.loads((folder / "raw" / "results-quick.json").read_text())
    results = {result["key"]: result for result in run["results"]}
    assert set(results) == QUICK_SERVERS

    for key, result in results.items():
        assert result["error"] is None, key
        assert result["idle_rss"] > 0, key
        assert result["probe"]["failed"] == 0, key
        assert result["probe"]["latency_ms"]["count"] > 0, key
        assert len(result["sweep"]) == len(run["plan"]["sweep"]), key
        for point in result["sweep"]:
            where = f"{key} at {point['subscribers']} subscribers"
            _assert_complete(point["saturate"], where + ", saturated")
            _assert_complete(point["latency"], where + ", latency")
            assert point["saturate"]["deliveries_per_second"] > 0, where
        _assert_complete(result["cpu"], f"{key}, CPU")
        assert result["cpu"]["us_per_delivery"] is not None, key
        overload = result["overload"]
        _assert_complete(overload["live"], f"{key}, live readers under overload")
        assert overload["resume"]["resumed"] == overload["paused"] > 0, key
        assert overload["rss_peak"] > 0, key
        many = result["connections"]
        assert many["connected"] == run["plan"]["connections"], key
        assert many["failed"] == 0, key
        assert many["server_cpu_seconds"] > 0, key
        # The gateway counts its full collections; the peer reports none.
        reported = "gc_full_collections" in many
        assert reported == key.startswith("gateway"), key
        if reported:
            assert many["gc_full_collections"] >= 0, key
            assert many["gc_full_seconds"] >= 0, key


@pytest.mark.timeout(900)
def test_quick_run_writes_the_report(quick_run: tuple[Path, str]) -> None:
    folder, stdout = quick_run
    doc = (folder / "doc" / "performance.md").read_text()
    for heading in ("CPU per delivery", "Connections and memory", "Overload"):
        assert heading in doc
        assert heading.lower() in stdout.lower()
    for label in ("gateway, Socket.IO edge", "gateway, plain WebSocket edge"):
        assert label in doc
    assert "x bare python-socketio" in doc
    assert "full GC collections (s)" in doc
    if importlib.util.find_spec("matplotlib") is not None:
        charts = sorted((folder / "doc" / "img").glob("*.png"))
        assert [chart.name for chart in charts] == [
            "quick-p99.png",
            "quick-throughput.png",
        ]
        assert all(chart.stat().st_size > 1000 for chart in charts)


@pytest.mark.timeout(120)
def test_scale_mode_fans_out_over_redis_without_loss(
    tmp_path: Path, redis_server: RedisProcess
) -> None:
    # One memory process and two Redis processes, briefly: bench.scale itself
    # exits non-zero on any loss, duplicate or failed publication.
    _install_loadgen()
    done = subprocess.run(
        [
            *(sys.executable, "-m", "bench.scale", "--processes", "2"),
            *("--subscribers", "20", "--seconds", "1", "--raw", str(tmp_path)),
        ],
        cwd=ROOT,
        env={**os.environ, "BENCH_REDIS_URL": redis_server.url},
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stdout[-3000:] + "\n" + done.stderr[-3000:]
    rows = json.loads((tmp_path / "scale.json").read_text())["rows"]
    assert [(row["backend"], row["processes"]) for row in rows] == [
        ("memory", 1),
        ("redis", 2),
    ]
    assert rows[1]["per_process"] == [10, 10]
    for row in rows:
        for phase in (row["rate"], row["saturate"]):
            _assert_complete(phase, row["setup"])


def test_memory_mode_names_where_a_connections_memory_goes() -> None:
    _install_loadgen()
    done = subprocess.run(
        [sys.executable, "-m", "bench.memory", "--connections", "40", "--top", "8"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for edge in ("ws", "socketio"):
        summary = next(
            line for line in done.stdout.splitlines() if line.startswith(f"{edge}: ")
        )
        assert "40 connections" in summary
        assert "KiB per connection" in summary
    # Sites grew for the connections: uvicorn's protocol among them.
    assert "websockets_sansio_impl.py" in done.stdout
