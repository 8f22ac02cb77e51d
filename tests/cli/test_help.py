"""``realtime --help`` and ``--version``."""

from __future__ import annotations

from realtime import __version__
from tests.support.cli import run_realtime


async def test_help_lists_every_command() -> None:
    """realtime --help exits 0 and names serve, token, publish and tail."""
    finished = await run_realtime("--help")
    assert finished.returncode == 0
    for command in ("serve", "token", "publish", "tail"):
        assert command in finished.stdout


async def test_version_prints_the_version() -> None:
    """realtime --version prints the package version."""
    finished = await run_realtime("--version")
    assert finished.returncode == 0
    assert finished.stdout.strip() == __version__


async def test_an_unknown_option_fails_with_usage() -> None:
    """A mistyped option exits non-zero with a usage message, serving nothing."""
    finished = await run_realtime("token", "--usr", "7")
    assert finished.returncode != 0
    assert "usage" in finished.stderr
