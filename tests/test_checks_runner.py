"""The checks runner: pytest's own exit code counts, and what never reported is an error."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from harness.checks_runner import pytest_argv, run_checks
from harness.console import RunConsole

if TYPE_CHECKING:
    from pathlib import Path

INTERRUPTED = '''
import pytest
CHECK_IDS = ("mlflow.first", "mlflow.interrupts", "mlflow.never")

@pytest.mark.check("mlflow.first")
def test_first(stack):
    pass

@pytest.mark.check("mlflow.interrupts")
def test_interrupts(stack):
    raise KeyboardInterrupt

@pytest.mark.check("mlflow.never")
def test_never(stack):
    pass
'''


def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str,
        *extra: str) -> tuple[str | None, dict[str, str]]:
    """Run a one-module check package as `run`/`check` do; the infrastructure error and
    the verdicts by id.
    """
    package = tmp_path / "checks"
    package.mkdir()
    (package / "pytest.ini").write_text("[pytest]\naddopts = -p no:randomly\n", encoding="utf-8")
    (package / "test_module.py").write_text(source, encoding="utf-8")
    monkeypatch.setenv("HARNESS_CONFORMANCE_DIR", str(package))
    stack = tmp_path / "stack.json"
    stack.write_text(json.dumps({"target": "external", "scenario": "fake", "tools": {
        "mlflow": {"endpoints": {"other": "http://127.0.0.1:9"}}}}), encoding="utf-8")
    outcome = run_checks(pytest_argv(stack, tmp_path / "results.json", 0, list(extra)),
                         tmp_path / "checks.log", RunConsole(quiet=True))
    return outcome.infrastructure_error, {
        c["id"]: c["status"] for c in outcome.results.get("checks", [])}


def test_an_interrupted_pytest_is_an_infrastructure_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    error, statuses = run(tmp_path, monkeypatch, INTERRUPTED)
    assert error is not None
    assert error.startswith("pytest was interrupted (exit code 2)")
    assert statuses["mlflow.first"] == "pass"
    assert statuses["mlflow.never"] == "error"


def test_a_usage_error_is_an_infrastructure_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    error, _ = run(tmp_path, monkeypatch, INTERRUPTED, "--no-such-option")
    assert error is not None
    assert error.startswith("pytest was used wrongly (exit code 4)")


def test_a_module_that_fails_to_import_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    error, statuses = run(tmp_path, monkeypatch, "raise RuntimeError('broken on import')\n")
    assert error == ("check module test_module.py cannot be collected: "
                     "RuntimeError: broken on import")
    assert statuses == {}
