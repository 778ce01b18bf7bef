"""The command line: help everywhere, bad input as one line with exit 2 and nothing started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
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
    (["--versions", "current,nope"], "--versions 'nope': no such version set"),
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


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("selection", [["-m", "nosuchtool"], ["-k", "no_check_is_named_so"],
                                       ["-m", "mlflow and"]])
def test_a_selection_of_no_check_is_bad_input_before_anything_starts(
    tmp_path: Path, selection: list[str]
) -> None:
    result = cli("run", "--reports-dir", str(tmp_path / "reports"), *selection)
    assert result.returncode == 2, result.stderr
    assert one_error_line(result).startswith(f"error: {' '.join(selection)}: ")
    assert not (tmp_path / "reports").exists(), "nothing may be started or written"


def test_a_selection_nothing_provisioned_can_run_is_bad_input(tmp_path: Path) -> None:
    result = cli("run", "--reports-dir", str(tmp_path / "reports"), "--tools", "dask",
                 "-m", "mlflow")
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip().splitlines()[-1]  # after the validate and static phases
    assert line.startswith("error: -m/-k: none of the "), line
    assert "they need mlflow; it provisions dask" in line
    assert not list((tmp_path / "reports").glob("*/logs/*.log")), "no server may be started"


def fake_stack(directory: Path, **credentials: dict[str, str]) -> Path:
    stack = {"target": "external", "scenario": "fake",
             "tools": {"mlflow": {"endpoints": {"other": "http://127.0.0.1:9"},
                                  "credentials": credentials}}}
    path = directory / "stack.json"
    path.write_text(json.dumps(stack), encoding="utf-8")
    return path


def checks_package(directory: Path, **modules: str) -> dict[str, str]:
    """A tiny check package in place of conformance/; returns the environment that selects it."""
    package = directory / "checks"
    package.mkdir()
    (package / "pytest.ini").write_text("[pytest]\naddopts = --strict-markers -p no:randomly\n",
                                        encoding="utf-8")
    for name, source in modules.items():
        (package / f"{name}.py").write_text(source, encoding="utf-8")
    return {**os.environ, "HARNESS_CONFORMANCE_DIR": str(package)}


def test_check_with_a_selection_of_no_check(tmp_path: Path) -> None:
    result = cli("check", "--stack", str(fake_stack(tmp_path)), "--reports-dir",
                 str(tmp_path / "reports"), "-m", "dask", "-k", "nothing_like_this")
    assert result.returncode == 2, result.stderr
    assert "selects no check" in one_error_line(result)
    assert not (tmp_path / "reports").exists()


def test_a_missing_credential_is_named_never_shown(tmp_path: Path) -> None:
    stack = fake_stack(tmp_path, password={"env": "HARNESS_TEST_UNSET_PASSWORD"},
                       token={"file": "secrets/token"})
    result = cli("check", "--stack", str(stack), "--reports-dir", str(tmp_path / "reports"))
    assert result.returncode == 2, result.stderr
    assert one_error_line(result) == (
        "error: mlflow: credential 'password' (env HARNESS_TEST_UNSET_PASSWORD) does not "
        "resolve: environment variable HARNESS_TEST_UNSET_PASSWORD is not set")
    assert not (tmp_path / "reports").exists()


BROKEN = "import pytest\nimport no_such_module_anywhere\nCHECK_IDS = ('mlflow.x',)\n"


def test_a_broken_check_module_is_an_infrastructure_error_naming_it(tmp_path: Path) -> None:
    env = checks_package(tmp_path, test_broken=BROKEN)
    for command in (["run", "--tools", "mlflow"], ["check", "--stack", str(fake_stack(tmp_path))]):
        result = subprocess.run([*CLI, *command, "--reports-dir", str(tmp_path / "reports")],
                                capture_output=True, text=True, timeout=120, env=env, check=False)
        assert result.returncode == 3, result.stderr
        assert one_error_line(result) == (
            "error: check module test_broken.py cannot be collected: ModuleNotFoundError: "
            "No module named 'no_such_module_anywhere'")
        assert not (tmp_path / "reports").exists(), "found before anything starts"


FLAKY = '''
import pathlib
import pytest

CHECK_IDS = ("mlflow.settles",)

@pytest.mark.check("mlflow.settles")
def test_settles(stack):
    marker = pathlib.Path(stack.base_dir) / "attempted"
    if not marker.exists():
        marker.write_text("1")
        raise ConnectionRefusedError("mlflow: refused while the server settles")
'''


def test_a_check_that_passes_on_its_retry_is_flaky(tmp_path: Path) -> None:
    env = checks_package(tmp_path, test_flaky=FLAKY)
    stack = fake_stack(tmp_path)
    codes = []
    for flag in ([], ["--fail-on-flaky"]):
        (tmp_path / "attempted").unlink(missing_ok=True)
        result = subprocess.run(
            [*CLI, "check", "--stack", str(stack), "--reports-dir", str(tmp_path / "reports"),
             *flag], capture_output=True, text=True, timeout=180, env=env, check=False)
        codes.append(result.returncode)
        assert "flaky mlflow.settles: passed on attempt 2; first failure: ConnectionRefusedError: " \
            "mlflow: refused while the server settles" in result.stderr
    assert codes == [0, 1]
    reports = sorted((tmp_path / "reports").glob("*/report.md"))
    assert "first failure: ConnectionRefusedError" in reports[-1].read_text(encoding="utf-8")


SLOW = '''
import time
import pytest

CHECK_IDS = ("mlflow.slow",)

@pytest.mark.check("mlflow.slow")
def test_slow(stack):
    time.sleep(300)
'''


def test_check_stops_its_pytest_on_sigterm(tmp_path: Path) -> None:
    import psutil

    env = checks_package(tmp_path, test_slow=SLOW)
    command = [*CLI, "check", "--stack", str(fake_stack(tmp_path)), "--reports-dir",
               str(tmp_path / "reports")]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as harness:
        deadline = time.monotonic() + 120
        while not list((tmp_path / "reports").glob("*/results.json")):  # pytest has collected
            assert time.monotonic() < deadline, "pytest never started"
            time.sleep(0.2)
        children = psutil.Process(harness.pid).children(recursive=True)
        assert children, "the checks run in a pytest child"
        harness.send_signal(signal.SIGTERM)
        _out, err = harness.communicate(timeout=60)
    assert harness.returncode == 3, err
    assert "interrupted" in err
    assert not [c.pid for c in children if c.is_running() and c.status() != "zombie"]


def test_compare_exits_1_on_lost_coverage_unless_allowed(tmp_path: Path) -> None:
    from harness.report.model import CheckResult, Report, ScenarioRun

    def saved(name: str, status: str) -> Path:
        run = ScenarioRun(scenario="defaults", target="local://", checks=[
            CheckResult(id="mlflow.log-run", tool="mlflow", status="pass"),
            CheckResult(id="dask.array", tool="dask", status=status)])  # type: ignore[arg-type]
        path = tmp_path / f"{name}.json"
        Report(run_id=name, runs=[run]).save(path)
        return path

    before, after = saved("before", "pass"), saved("after", "skip")
    result = cli("report", "--compare", str(before), str(after))
    assert result.returncode == 1, result.stderr
    assert "LOST COVERAGE defaults dask.array: pass -> skip" in result.stdout
    assert "0 regressions, 1 lost coverage, 0 other changes" in result.stdout
    assert cli("report", "--compare", str(before), str(after), "--allow-lost-coverage"
               ).returncode == 0


def test_check_of_a_stack_none_of_the_selected_checks_can_run_against(tmp_path: Path) -> None:
    result = cli("check", "--stack", str(fake_stack(tmp_path)), "--reports-dir",
                 str(tmp_path / "reports"), "-m", "dask")
    assert result.returncode == 2, result.stderr
    assert "none of the 7 selected checks can run against it: they need dask; the stack has " \
        "mlflow" in one_error_line(result)
    assert not (tmp_path / "reports").exists()
