"""``python -m bench``: measure every server, print the figures, write the doc."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.loadgen import Loadgen
from bench.proc import machine, raise_open_files
from bench.profile import Profile, profile
from bench.report import (
    Run,
    charts,
    load_run,
    markdown,
    stdout_report,
    write_doc,
)
from bench.scenarios import FULL, OURS, QUICK, Plan, ServerResult, measure
from bench.servers import (
    CHANNELS_PACKAGES,
    LOADGEN_DIR,
    NODE_PEERS_DIR,
    ROOT,
    SERVERS,
    npm_ci,
    preflight,
)

logger = logging.getLogger("bench")

RAW_DIR = ROOT / "bench" / "results" / "raw"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Fan-out benchmark: the gateway's two edges against reference "
        "servers. Full mode takes about 11 minutes and writes docs/performance.md.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few seconds with 50 subscribers and three servers: proves the "
        "bench works, measures nothing worth quoting",
    )
    parser.add_argument(
        "--servers",
        help="comma-separated subset of: " + ", ".join(SERVERS),
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="folder for performance.md and img/ (default: docs/ in full mode, "
        "bench/results/raw/quick/ in quick mode)",
    )
    parser.add_argument(
        "--raw", type=Path, default=None, help="folder for raw JSON and server logs"
    )
    parser.add_argument(
        "--no-profile",
        action="store_true",
        help="skip the py-spy profiles of the gateway's edges (full mode only)",
    )
    parser.add_argument(
        "--profile-seconds", type=float, default=10.0, help="length of each profile"
    )
    parser.add_argument(
        "--render",
        type=Path,
        metavar="RESULTS_JSON",
        help="measure nothing: write the page and charts again from the raw "
        "results a run saved (bench/results/raw/results-full.json)",
    )
    return parser


def _cores() -> tuple[int, int]:
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        logger.warning("one core only: server and load generator will share it")
        return cores[0], cores[0]
    return cores[0], cores[1]


def _node_peers(plan: Plan) -> list[tuple[str, str]]:
    """Install the Node peers if the plan has them; what could not be, and why."""
    wanted = [key for key in plan.servers if SERVERS[key].needs_npm is not None]
    if not wanted:
        return []
    try:
        npm_ci(NODE_PEERS_DIR)
    except (OSError, subprocess.CalledProcessError, RuntimeError) as error:
        return [(SERVERS[key].label, f"npm ci failed: {error}") for key in wanted]
    return []


def _publish(report: Run, doc_dir: Path) -> None:
    """Charts, the page, and the tables on stdout."""
    prefix = "bench" if report.plan.mode == "full" else "quick"
    images = charts(report, doc_dir / "img", prefix)
    doc = doc_dir / "performance.md"
    write_doc(doc, markdown(report, images, doc_dir))
    print(stdout_report(report))
    print(f"\nwrote {doc} and {len(images)} charts")


def render(args: argparse.Namespace) -> int:
    report = load_run(args.render)
    default = ROOT / "docs" if report.plan.mode == "full" else RAW_DIR / "quick"
    _publish(report, args.out or default)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.render:
        return render(args)
    plan = QUICK if args.quick else FULL
    if args.servers:
        keys = tuple(key.strip() for key in args.servers.split(",") if key.strip())
        unknown = [key for key in keys if key not in SERVERS]
        if unknown:
            sys.exit(f"unknown servers: {', '.join(unknown)}")
        plan = dataclasses.replace(plan, servers=keys)
    doc_dir: Path = args.out or (
        ROOT / "docs" if plan.mode == "full" else RAW_DIR / "quick"
    )
    raw: Path = args.raw or RAW_DIR
    logs = raw / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    server_core, loadgen_core = _cores()
    # This process only waits and reads /proc: it keeps off the server's core.
    os.sched_setaffinity(0, {loadgen_core})
    # The server and the load generator each hold one descriptor per client.
    needed = max(plan.connections or 0, *plan.sweep) + 1024
    open_files = raise_open_files(max(needed, 65536))
    if open_files < needed:
        logger.warning("open files limited to %d; %d wanted", open_files, needed)

    npm_ci(LOADGEN_DIR)
    skipped = _node_peers(plan)
    for key in plan.servers:
        reason = preflight(SERVERS[key])
        if reason is not None:
            skipped.append((SERVERS[key].label, reason))
    skipped_labels = {label for label, _ in skipped}
    started = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    results: list[ServerResult] = []
    profiles: list[Profile] = []
    loadgen_command = ""
    # A load generator per server: one that a misbehaving server left stuck
    # cannot spoil the next server's figures.
    for key in plan.servers:
        spec = SERVERS[key]
        if spec.label in skipped_labels:
            continue
        logger.info("%s", spec.label)
        with Loadgen(loadgen_core, logs / f"loadgen-{key}.log") as loadgen:
            loadgen_command = " ".join(loadgen.command)
            results.append(measure(spec, plan, server_core, loadgen, logs))
    if plan.mode == "full" and not args.no_profile:
        for key in OURS:
            if key not in plan.servers:
                continue
            logger.info("profiling %s", key)
            try:
                with Loadgen(loadgen_core, logs / f"loadgen-{key}.log") as loadgen:
                    profiles.append(
                        profile(
                            SERVERS[key],
                            plan,
                            server_core,
                            loadgen_core,
                            loadgen,
                            raw,
                            args.profile_seconds,
                        )
                    )
            except Exception as error:
                logger.error("profiling %s failed: %s", key, error)
                skipped.append((f"py-spy profile of {key}", str(error)))

    measured = {result.key for result in results}
    command = "uv run --group bench python -m bench " + shlex.join(sys.argv[1:])
    report = Run(
        plan=plan,
        machine=machine(
            LOADGEN_DIR,
            NODE_PEERS_DIR,
            CHANNELS_PACKAGES if "django-channels" in measured else (),
        ),
        started=stamp,
        seconds=time.monotonic() - started,
        command=command.strip(),
        loadgen_command=loadgen_command,
        open_files=open_files,
        results=results,
        profiles=profiles,
        skipped=skipped,
    )
    raw_file = raw / f"results-{plan.mode}.json"
    raw_file.write_text(json.dumps(dataclasses.asdict(report), indent=1, default=str))
    images = charts(
        report, doc_dir / "img", "bench" if plan.mode == "full" else "quick"
    )
    doc = doc_dir / "performance.md"
    write_doc(doc, markdown(report, images, doc_dir))
    print(stdout_report(report))
    print(f"\nwrote {doc}, {len(images)} charts and {raw_file}")
    return 1 if any(result.error for result in results) else 0


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S"
    )
    if os.environ.get("BENCH_DEBUG"):
        logger.setLevel(logging.DEBUG)  # every load generator command, timed
    args = _parser().parse_args(argv)
    sys.exit(run(args))
