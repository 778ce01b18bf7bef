"""Checks run by pytest-xdist workers (one per tool) report what a serial run reports:
the same verdicts, messages, attempts, nodes and versions; only durations differ.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.check_scheduling import work_unit
from harness.checks_runner import pytest_argv, retry_policy, worker_count
from harness.paths import project_dir
from harness.worker_results import merge, part_path
from tests.test_plugin import CHECKS, write_fake_stack

pytest_plugins = ["pytester"]

# A second tool's module (the first is test_plugin's): a unit of its own, whose module-scoped
# fixture must be built once however the checks are shared out.
DASK = '''
import pathlib
import pytest

CHECK_IDS = ("dask.version", "dask.absent")

@pytest.fixture(scope="module")
def built_once(stack):
    marker = pathlib.Path(stack.base_dir) / "dask-fixture"
    assert not marker.exists(), "dask: the module fixture was built twice"
    marker.write_text("1")

@pytest.mark.check("dask.version", requires=("mlflow",))
def test_version(stack, record_version, built_once):
    record_version("dask", "client", "1.2.3")

@pytest.mark.check("dask.absent")
def test_absent(stack):
    raise AssertionError("must not run")
'''


def _without_durations(document: dict[str, Any]) -> dict[str, Any]:
    def strip(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in entry.items() if k != "duration_s"} for entry in entries]

    return {**document, "checks": strip(document["checks"]), "nodes": strip(document["nodes"])}


def _run(pytester: pytest.Pytester, name: str, *args: str) -> tuple[int, dict[str, Any]]:
    # Each run in its own directory: the flaky check leaves a marker beside the stack file.
    stack_file = write_fake_stack(pytester.path / name)
    results = pytester.path / name / "results.json"
    outcome = pytester.runpytest_subprocess(
        "--stack", str(stack_file), "--results", str(results), *retry_policy(1),
        "-p", "no:randomly", *args)
    document = json.loads(results.read_text(encoding="utf-8"))
    leftovers = sorted(p.name for p in results.parent.iterdir() if ".gw" in p.name)
    assert not leftovers, f"the workers' parts are merged and removed: {leftovers}"
    return int(outcome.ret), document


def test_workers_report_what_a_serial_run_reports(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_checks=CHECKS, test_dask=DASK)
    serial_code, serial = _run(pytester, "serial")
    distributed_code, distributed = _run(pytester, "distributed", "-n", "2", "--dist",
                                         "loadscope")
    assert (distributed_code, _without_durations(distributed)) == \
        (serial_code, _without_durations(serial))
    statuses = {c["id"]: c["status"] for c in distributed["checks"]}
    assert statuses == {"mlflow.passes": "pass", "mlflow.fails": "fail",
                        "mlflow.unreachable": "error", "mlflow.flaky": "flaky",
                        "mlflow.not-here": "skip", "dask.connect": "skip", "dask.version": "pass",
                        "dask.absent": "skip"}
    assert distributed["versions"] == {"mlflow": {"client": "9.9.9"}, "dask": {"client": "1.2.3"}}


def test_merge_reports_a_selected_check_no_worker_ran_as_an_error(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    selected = [{"id": f"mlflow.{n}", "nodeid": f"test_mlflow.py::test_{n}", "tool": "mlflow",
                 "needs": ["mlflow"]} for n in ("one", "two")]
    ran = {"id": "mlflow.one", "nodeid": "test_mlflow.py::test_one", "tool": "mlflow",
           "duration_s": 0.1, "attempts": [{"status": "pass", "message": ""}]}
    part_path(results, "gw0").write_text(json.dumps({"selected": selected, "nodes": [ran]}))
    part_path(results, "gw1").write_text(json.dumps({"selected": selected, "nodes": []}))
    document = merge(results, final=True)
    assert {c["id"]: c["status"] for c in document["checks"]} == {
        "mlflow.one": "pass", "mlflow.two": "error"}
    assert json.loads(results.read_text()) == document
    assert not list(tmp_path.glob("results.json.gw*"))


def test_a_tool_s_check_modules_are_one_work_unit() -> None:
    # test_external_postgres.py restarts MLflow: never while test_mlflow.py's checks run.
    checks = project_dir("conformance")
    assert work_unit("test_external_postgres.py::test_x", checks) == \
        work_unit("test_mlflow.py::test_y", checks) == "mlflow"
    assert work_unit("test_jupyterhub_oauth.py::test_x", checks) == "jupyterhub"
    # The journey shares Feast's one project with test_feast.py: one unit, journey first.
    assert work_unit("journeys/test_train_and_serve.py::test_x", checks) == "feast"
    assert work_unit("test_nowhere.py::test_x", checks) == "test_nowhere.py"


def test_one_worker_per_tool_the_stack_can_run() -> None:
    selected = [{"nodeid": f"test_{tool}.py::test_{n}", "needs": [tool]}
                for tool in ("mlflow", "dask", "feast") for n in range(3)]
    selected.append({"nodeid": "test_external_postgres.py::test_p", "needs": ["mlflow"]})
    selected.append({"nodeid": "journeys/test_train_and_serve.py::test_j",
                     "needs": ["mlflow", "dask"]})
    assert worker_count(selected, {"mlflow", "dask", "feast"}) == 3
    assert worker_count(selected, {"mlflow", "dask"}) == 3, "the journey counts as feast's"
    assert worker_count(selected, {"mlflow"}) == 0, "one tool: no worker"
    assert worker_count(selected, {"mlflow", "dask", "feast"}, serial=True) == 0
    argv = pytest_argv(Path("s.json"), Path("r.json"), 1, [], workers=4)
    assert argv[argv.index("-n") + 1] == "4"
    assert argv[argv.index("--dist") + 1] == "loadscope"
    assert "-n" not in pytest_argv(Path("s.json"), Path("r.json"), 1, [], workers=0)

