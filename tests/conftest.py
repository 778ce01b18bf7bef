"""Shared fixtures of the project's own tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "harness.cli"]


@pytest.fixture
def write_scenario(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a scenario file from text and return its path."""

    def write(text: str, name: str = "case.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No HARNESS_* or TF_VAR_* settings from the developer's shell."""
    for key in list(os.environ):
        if key.startswith(("HARNESS_", "TF_VAR_")):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def charts_repo() -> Path:
    """The chart mirror (`HARNESS_CHARTS`, else `../shared/charts-repo` beside the checkout):
    the pinned chart versions and the releases before them, as packages.
    """
    chosen = os.environ.get("HARNESS_CHARTS")
    path = Path(chosen) if chosen else REPO.parent / "shared" / "charts-repo"
    if not (path / "index.yaml").is_file():
        pytest.skip(f"no chart mirror at {path}: set HARNESS_CHARTS to a directory of charts")
    return path
