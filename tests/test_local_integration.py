"""The real local target end to end: MLflow and Dask run, checks pass, nothing is left behind."""

from __future__ import annotations

import importlib.metadata
import json
import signal
import subprocess
import time
from typing import TYPE_CHECKING

import psutil
import pytest

from tests.conftest import CLI

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.integration

MLFLOW_CHECKS = {"mlflow.health", "mlflow.experiment", "mlflow.log-run",
                 "mlflow.artifact-roundtrip", "mlflow.model-registry", "mlflow.search-runs"}
DASK_CHECKS = {"dask.connect", "dask.worker-count", "dask.worker-environment", "dask.array",
               "dask.dataframe", "dask.versions", "dask.workers-kept"}


def leftovers(marker: Path) -> list[str]:
    """Processes whose command line mentions the run's directory."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(marker) in cmdline and "pytest" not in cmdline.split(" ")[0:3]:
            found.append(cmdline[:200])
    return found


def test_defaults_run_with_mlflow_and_dask(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    result = subprocess.run(
        [*CLI, "run", "--scenario", "defaults", "--tools", "mlflow,dask", "--reports-dir",
         str(reports), "--run-id", "it"], capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = reports / "it"
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    run = report["runs"][0]
    statuses = {c["id"]: c["status"] for c in run["checks"]}
    assert {i: statuses.get(i) for i in MLFLOW_CHECKS | DASK_CHECKS} == \
        dict.fromkeys(MLFLOW_CHECKS | DASK_CHECKS, "pass")
    # MLflow's server runs the version its chart deploys (no drift, though the chart's is not
    # the harness's); the checks' client, the harness's.
    assert run["versions"]["mlflow"]["server"] != importlib.metadata.version("mlflow")
    assert run["versions"]["mlflow"]["client"] == importlib.metadata.version("mlflow")
    assert ("mlflow", "server") not in {(d["tool"], d["component"])
                                        for d in run["version_drift"]}
    assert run["versions"]["dask"]["scheduler"] == run["versions"]["dask"]["client"]
    # Drift: what the servers reported when the checks ran, against the charts' versions.
    for drift in run["version_drift"]:
        assert drift["ran"] == run["versions"][drift["tool"]][drift["component"]], drift
        assert drift["ran"] != drift["chart"]
    drifted = {(d["tool"], d["component"]) for d in run["version_drift"]}
    assert (("dask", "workers") in drifted) == (run["versions"]["dask"]["workers"] != "2024.1.0")
    assert set(run["phases_s"]) == {"validate", "static", "provision", "checks", "teardown"}
    assert statuses["mlflow.values-contract.mlflow"] == "pass"
    assert set(run["ready_s"]) == {"mlflow", "dask-scheduler", "dask-worker-0", "dask-worker-1",
                                   "dask-worker-2"}
    assert run["peak_rss_mb"] > 100
    for name in ("junit.xml", "report.md", "report.html", "stack.json", "logs/mlflow.log",
                 "logs/dask-scheduler.log", "logs/checks.log"):
        assert (run_dir / name).is_file(), name
    stack = json.loads((run_dir / "stack.json").read_text(encoding="utf-8"))
    assert stack["tools"]["dask"]["expect"]["workers"] == 3
    assert "jupyterhub" in stack["skip"]
    assert not (run_dir / "secrets").exists(), "run secrets are removed at teardown"
    assert not (run_dir / "state").exists()
    assert not leftovers(run_dir)
    assert "| `mlflow.log-run` | ✅ pass |" in (run_dir / "report.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(("wait_for", "sig"), [
    ("mlflow: starting", signal.SIGINT),       # during provisioning
    ("▶ checks", signal.SIGTERM),              # during the checks
])
def test_interrupted_run_leaves_nothing_running(
    tmp_path: Path, wait_for: str, sig: signal.Signals
) -> None:
    reports = tmp_path / "reports"
    process = subprocess.Popen(
        [*CLI, "run", "--tools", "mlflow,dask", "--reports-dir", str(reports), "--run-id", "cut"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if wait_for in line:
            break
    else:
        pytest.fail(f"never saw {wait_for!r}: {''.join(seen)[-2000:]}")
    time.sleep(1.0)
    process.send_signal(sig)
    rest = process.stderr.read()
    assert process.wait(timeout=120) == 3, rest[-2000:]
    assert "interrupted" in rest
    deadline = time.monotonic() + 10
    while leftovers(reports / "cut") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not leftovers(reports / "cut")


def test_keep_then_check_then_down(tmp_path: Path) -> None:
    """`run --keep` leaves a stack that `check --stack` can test again and `down` stops."""
    reports = tmp_path / "reports"
    kept = subprocess.run(
        [*CLI, "run", "--tools", "dask", "--keep", "--reports-dir", str(reports),
         "--run-id", "kept"], capture_output=True, text=True, timeout=300, check=False)
    run_dir = reports / "kept"
    try:
        assert kept.returncode == 0, kept.stderr[-3000:]
        assert f"mlops-conformance down {run_dir}" in kept.stdout
        assert "dask scheduler: tcp://127.0.0.1:" in kept.stdout
        assert leftovers(run_dir), "the kept stack must still run"
        again = subprocess.run(
            [*CLI, "check", "--stack", str(run_dir / "stack.json"), "--reports-dir",
             str(reports), "-m", "dask"], capture_output=True, text=True, timeout=300,
            check=False)
        assert again.returncode == 0, again.stderr[-3000:]
        (checked,) = [p for p in reports.iterdir() if p.name.endswith("-check") or "check" in
                      p.name]
        report = json.loads((checked / "report.json").read_text(encoding="utf-8"))
        statuses = {c["id"]: c["status"] for c in report["runs"][0]["checks"]}
        assert statuses == dict.fromkeys({*DASK_CHECKS, "local.loopback-only"}, "pass")
    finally:
        stopped = subprocess.run([*CLI, "down", str(run_dir)], capture_output=True, text=True,
                                 timeout=60, check=False)
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped 4 processes" in stopped.stdout
    deadline = time.monotonic() + 10
    while leftovers(run_dir) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not leftovers(run_dir)
    assert not (run_dir / "secrets").exists()


def test_two_scenarios_side_by_side_make_one_report(tmp_path: Path) -> None:
    """Several `--scenario`s run in parallel children and merge into one matrix."""
    other = tmp_path / "two-workers.yaml"
    other.write_text("description: two workers\ntfvars:\n  worker_replicas: 2\n"
                     "  worker_environment_variables: [{name: X, value: 'y'}]\n", encoding="utf-8")
    result = subprocess.run(
        [*CLI, "run", "--scenario", "defaults", "--scenario", str(other), "--tools", "dask",
         "--reports-dir", str(tmp_path / "reports"), "--run-id", "mx"],
        capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "reports" / "mx" / "report.json").read_text(encoding="utf-8"))
    assert [run["scenario"] for run in report["runs"]] == ["defaults", "two-workers"]
    for run in report["runs"]:
        statuses = {c["id"]: c["status"] for c in run["checks"]}
        assert {i: statuses[i] for i in DASK_CHECKS} == dict.fromkeys(DASK_CHECKS, "pass")
        assert statuses["mlflow.health"] == "skip"  # not selected, shown with its reason
    markdown = (tmp_path / "reports" / "mx" / "report.md").read_text(encoding="utf-8")
    assert "| | defaults | two-workers |" in markdown
    assert not leftovers(tmp_path / "reports")
