"""The whole `defaults` scenario: six tools and the journey pass, and nothing outlives the run."""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING

import psutil
import pytest

from harness.scenario import TOOLS
from tests.conftest import CLI

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.integration


def survivors(run_dir: Path) -> list[str]:
    """Processes that mention the run's directory in their command line or working directory
    (users' servers and model servers are found by their working directory).
    """
    found = []
    for process in psutil.process_iter(["cmdline", "cwd"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if "pytest" in cmdline:
            continue
        if str(run_dir) in cmdline or str(run_dir) in (process.info["cwd"] or ""):
            found.append(cmdline[:200])
    return found


def test_defaults_run_passes_every_check(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    result = subprocess.run([*CLI, "run", "--reports-dir", str(reports), "--run-id", "all"],
                            capture_output=True, text=True, timeout=1500, check=False)
    run_dir = reports / "all"
    assert result.returncode == 0, result.stderr[-4000:]
    run = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))["runs"][0]
    failing = {c["id"]: c["message"][:200] for c in run["checks"]
               if c["status"] not in {"pass", "skip"}}
    assert not failing
    ran = {c["tool"] for c in run["checks"] if c["status"] == "pass"}
    assert {*TOOLS, "journey"} <= ran
    assert {c["id"]: c["status"] for c in run["checks"]
            if c["tool"] == "journey"} == {"journey.train-and-serve": "pass"}
    assert {"seldon-controlplane", "jupyterhub", "jupyterhub-proxy"} <= set(run["ready_s"])
    assert run["findings"]
    assert not survivors(run_dir)
