"""MLflow and Dask launchers without starting anything: argv, environment, Stack entry."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.errors import BadInputError
from harness.launchers.base import LaunchContext, ProcessSpec, PythonEnv
from harness.launchers.dask import DaskLauncher
from harness.launchers.mlflow import MlflowLauncher
from harness.scenario import load_scenario
from harness.targets.local import python_env


def context(tmp_path: Path, text: str, python: PythonEnv | None = None) -> LaunchContext:
    path = tmp_path / "s.yaml"
    path.write_text(f"description: x\n{text}", encoding="utf-8")
    return LaunchContext(scenario=load_scenario(str(path)), state_dir=tmp_path / "state",
                         python=python or PythonEnv())


def flatten(stages: list[ProcessSpec | list[ProcessSpec]]) -> list[ProcessSpec]:
    return [s for stage in stages for s in ([stage] if isinstance(stage, ProcessSpec) else stage)]


def test_dask_workers_get_the_scenario_environment(tmp_path: Path) -> None:
    launcher = DaskLauncher(context(tmp_path, (
        "tfvars:\n  worker_replicas: 2\n  worker_name: w\n"
        "  worker_environment_variables: [{name: A, value: '1'}]\n")))
    stages = list(launcher.processes())
    assert isinstance(stages[0], ProcessSpec)
    assert stages[0].name == "dask-scheduler"
    assert [s.name for s in stages[1]] == ["dask-w-0", "dask-w-1"]  # type: ignore[union-attr]
    for worker in flatten(stages)[1:]:
        assert worker.env == {"A": "1"}
        assert launcher.scheduler_address in worker.argv
    entry = launcher.entry()
    assert entry.expect == {"workers": 2, "worker_environment": {"A": "1"}}
    assert entry.endpoints["scheduler"].startswith("tcp://127.0.0.1:")


def test_launchers_run_from_the_given_python(tmp_path: Path) -> None:
    python = PythonEnv(Path("/opt/other/bin/python"))
    for cls in (DaskLauncher, MlflowLauncher):
        for spec in flatten(list(cls(context(tmp_path, "", python)).processes())):
            assert spec.argv[0] == "/opt/other/bin/python"


def test_mlflow_maps_a_path_artifact_root_into_the_run(tmp_path: Path) -> None:
    launcher = MlflowLauncher(context(tmp_path, "tfvars:\n  default_artifact_root: /mnt/art\n"))
    assert launcher.artifact_destination == str(tmp_path / "state" / "rootfs" / "mnt" / "art")
    (spec,) = flatten(list(launcher.processes()))
    assert spec.env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    assert spec.argv[spec.argv.index("--artifacts-destination") + 1] == \
        launcher.artifact_destination
    assert spec.health_url == f"{launcher.url}/health"


def test_mlflow_keeps_a_remote_artifact_root(tmp_path: Path) -> None:
    launcher = MlflowLauncher(context(tmp_path, "tfvars:\n  default_artifact_root: s3://b/p\n"))
    assert launcher.artifact_destination == "s3://b/p"


def test_python_env_from_scenario(tmp_path: Path) -> None:
    scenario_path = tmp_path / "s.yaml"
    scenario_path.write_text(f"description: x\nlocal:\n  python: {{dask: {sys.executable}, "
                             "mlflow: /no/such/python}\n", encoding="utf-8")
    scenario = load_scenario(str(scenario_path))
    assert python_env(scenario, "dask").python == Path(sys.executable)
    assert python_env(scenario, "feast") == PythonEnv()
    with pytest.raises(BadInputError, match=r"field 'local.python.mlflow'.*not an executable"):
        python_env(scenario, "mlflow")
