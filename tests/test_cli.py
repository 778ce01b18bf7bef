"""The command line: help everywhere, bad input as one line with exit 2 and nothing started."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

import pytest

from tests.conftest import CLI

if TYPE_CHECKING:
    from pathlib import Path


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, cwd=cwd,
                          check=False)


@pytest.mark.parametrize("command", [[], ["run"], ["check"], ["render"], ["scenarios"], ["report"],
                                     ["down"]])
def test_help_on_every_command(command: list[str]) -> None:
    result = cli(*command, "--help")
    assert result.returncode == 0
    assert "Usage:" in result.stdout


def test_scenarios_lists_names_and_descriptions() -> None:
    result = cli("scenarios")
    assert result.returncode == 0
    assert result.stdout.startswith("defaults ")
    assert "seed document's defaults" in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--scenario", "nope"], "error: --scenario 'nope': no such scenario"),
    (["--target", "kubernetes://"], "unknown target"),
    (["--tools", "mlflow,spark"], "unknown tool 'spark'"),
    (["--scenario", "SCENARIO"], "field 'tfvars.worker_replica': not a root module variable; "
                                 "did you mean 'worker_replicas'?"),
])
def test_bad_input_exits_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    scenario = tmp_path / "typo.yaml"
    scenario.write_text("description: typo\ntfvars:\n  worker_replica: 3\n", encoding="utf-8")
    args = [str(scenario) if a == "SCENARIO" else a for a in args]
    result = cli("run", "--reports-dir", str(tmp_path / "reports"), *args)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert any(message in line for line in lines), result.stderr
    assert len(lines) <= 3, result.stderr  # click's usage line may precede its own errors
    assert not (tmp_path / "reports").exists(), "nothing may be started or written"


def test_check_with_unreadable_stack(tmp_path: Path) -> None:
    stack = tmp_path / "stack.json"
    stack.write_text("{not json", encoding="utf-8")
    result = cli("check", "--stack", str(stack), "--reports-dir", str(tmp_path))
    assert result.returncode == 2
    assert "not valid JSON at line 1" in result.stderr
