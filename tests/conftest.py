"""Shared fixtures of the project's own tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "harness.cli"]


# Tests that start servers, run Terraform or render charts: `-m "not slow"` leaves them out.
_SLOW = ("integration", "faults", "terraform", "charts", "slow")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the slow tests `slow` and run them first; keep a module's tests on one worker
    when they share a module-scoped fixture (a started stack), so it is built once.
    """
    del config
    for item in items:
        if any(item.get_closest_marker(name) for name in _SLOW):
            item.add_marker(pytest.mark.slow)
        if _shares_a_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
    # A long test handed out last keeps one worker busy while the others idle: slow ones first
    # (a stable sort: each module's order stays).
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _shares_a_module_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(definitions[-1].scope in {"module", "package", "class"}
               for definitions in info.name2fixturedefs.values() if definitions)


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
