"""The shipped page build (realtime/web/dist) is not older than its sources.

``npm --prefix frontend_shim run build:page`` writes ``build-info.json`` with a sha256
over the page's and the shim's sources; this recomputes it. Keep ``SOURCE_INPUTS`` and
the hashing in step with frontend_shim/scripts/write-build-info.mjs.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from tests.frontend.support import DIST, SHIM

SOURCE_INPUTS = [
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "vite.page.config.ts",
    "src",
    "page",
]
REBUILD = "npm --prefix frontend_shim run build:page"
# The built page is committed; it must stay small.
MAX_DIST_BYTES = 512 * 1024


def source_files() -> list[str]:
    files: list[str] = []
    for entry in SOURCE_INPUTS:
        path = SHIM / entry
        if path.is_dir():
            found = (p for p in path.rglob("*") if p.is_file())
            files += [p.relative_to(SHIM).as_posix() for p in found]
        elif path.is_file():
            files.append(entry)
    return sorted(files)


def source_hash() -> tuple[str, dict[str, str]]:
    """sha256 over each file in sorted order: path, NUL, length, NUL, content."""
    total = hashlib.sha256()
    per_file: dict[str, str] = {}
    for rel in source_files():
        data = (SHIM / rel).read_bytes()
        total.update(rel.encode())
        total.update(b"\0")
        total.update(str(len(data)).encode())
        total.update(b"\0")
        total.update(data)
        per_file[rel] = hashlib.sha256(data).hexdigest()
    return total.hexdigest(), per_file


def build_info() -> dict[str, Any]:
    path = DIST / "build-info.json"
    assert path.is_file(), f"no {path}: build the page with {REBUILD}"
    info: dict[str, Any] = json.loads(path.read_text())
    return info


def test_build_info_matches_the_sources() -> None:
    info = build_info()
    assert info["algorithm"] == "sha256"
    assert info["inputs"] == SOURCE_INPUTS, "the hashed inputs changed on one side only"
    current, files = source_hash()
    if info["source_hash"] != current:
        built: dict[str, str] = info.get("files", {})
        changed = sorted(f for f in files if f in built and built[f] != files[f])
        added = sorted(set(files) - set(built))
        removed = sorted(set(built) - set(files))
        raise AssertionError(
            f"realtime/web/dist is older than its sources; rebuild with {REBUILD}\n"
            f"  changed: {changed}\n  added: {added}\n  removed: {removed}"
        )


def test_dist_is_complete_and_small() -> None:
    index = (DIST / "index.html").read_text()
    assets = re.findall(r'(?:src|href)="\.?/?(assets/[^"]+)"', index)
    assert any(a.endswith(".js") for a in assets), index
    for asset in assets:
        assert (DIST / asset).is_file(), f"index.html names a missing {asset}"
    size = sum(p.stat().st_size for p in Path(DIST).rglob("*") if p.is_file())
    assert size < MAX_DIST_BYTES, f"the built page is {size} bytes"
