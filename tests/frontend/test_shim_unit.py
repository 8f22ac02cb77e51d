"""The shim's unit tests (vitest, no network): offsets, dedupe, backoff, composables."""

from __future__ import annotations

import pytest

from tests.frontend.support import run_npm

# Needs Node.js (and, for the page, Chromium): run with `pytest -m node`.
pytestmark = pytest.mark.node


@pytest.mark.timeout(900)
@pytest.mark.usefixtures("node_modules")
def test_shim_unit_tests_pass() -> None:
    output = run_npm(["test"])
    assert "failed" not in output.lower().split("test files")[-1], output


@pytest.mark.timeout(900)
@pytest.mark.usefixtures("node_modules")
def test_shim_typechecks_and_builds() -> None:
    run_npm(["run", "typecheck"])
    run_npm(["run", "build"])


@pytest.mark.timeout(300)
@pytest.mark.usefixtures("node_modules")
def test_shim_sources_are_formatted() -> None:
    """Prettier (width 100) leaves the TypeScript and Vue sources unchanged."""
    run_npm(["run", "format:check"])
