"""MLflow and Dask launchers without starting anything: argv, environment, Stack entry."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.errors import BadInputError, ModuleDefectError
from harness.launchers.base import LaunchContext, ProcessSpec, PythonEnv, Stage, TaskSpec
from harness.launchers.chart_values import ChartValues, render_for, terraform_dir
from harness.launchers.dask import DaskLauncher
from harness.launchers.mlflow import MlflowLauncher
from harness.scenario import load_scenario
from harness.secrets import SecretStore
from harness.targets.local import python_env


def context(tmp_path: Path, text: str, python: PythonEnv | None = None, tool: str = "dask",
            values: ChartValues | None = None) -> LaunchContext:
    """A context of a scenario file holding `text`, with `tool`'s values rendered for it
    (or `values` as given).
    """
    path = tmp_path / "s.yaml"
    path.write_text(f"description: x\n{text}", encoding="utf-8")
    scenario = load_scenario(str(path))
    if values is None:
        values = ChartValues.of(render_for(scenario, SecretStore()), tool)
    return LaunchContext(scenario=scenario, state_dir=tmp_path / "state",
                         python=python or PythonEnv(), values=values)


def flatten(stages: list[Stage]) -> list[ProcessSpec | TaskSpec]:
    return [s for stage in stages
            for s in ([stage] if isinstance(stage, ProcessSpec | TaskSpec) else stage)]


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


def test_dask_runs_what_the_values_say_and_expects_what_the_scenario_says(
        tmp_path: Path) -> None:
    # A module that rendered one worker and no environment: that is what runs, while the
    # Stack entry keeps the scenario's two workers and variable, so the checks see the gap.
    values = ChartValues("dask", {"dask": {"worker": {"replicas": 1, "name": "w", "env": None}}})
    launcher = DaskLauncher(context(tmp_path, (
        "tfvars:\n  worker_replicas: 2\n"
        "  worker_environment_variables: [{name: A, value: '1'}]\n"), values=values))
    workers = flatten(list(launcher.processes()))[1:]
    assert [(w.name, dict(w.env)) for w in workers] == [("dask-w-0", {})]
    assert launcher.entry().expect == {"workers": 2, "worker_environment": {"A": "1"}}


def test_mlflow_runs_the_values_artifact_root_and_expects_the_scenarios(tmp_path: Path) -> None:
    values = ChartValues("mlflow", {"mlflow": {"artifactRoot": {"defaultArtifactRoot": "/a"}}})
    launcher = MlflowLauncher(context(tmp_path, "tfvars:\n  default_artifact_root: /b\n",
                                      values=values))
    (spec,) = flatten(list(launcher.processes()))
    assert spec.argv[spec.argv.index("--artifacts-destination") + 1] == \
        str(tmp_path / "state" / "rootfs" / "a")
    assert launcher.entry().expect["artifact_destination"] == \
        str(tmp_path / "state" / "rootfs" / "b")


def test_a_release_the_module_did_not_render_is_a_module_defect() -> None:
    with pytest.raises(ModuleDefectError, match=r"dask: its module rendered no values for "
                                                r"release 'dask' \(rendered: none\)"):
        ChartValues("dask").get("dask", "worker.replicas")


def test_launchers_run_from_the_given_python(tmp_path: Path) -> None:
    python = PythonEnv(Path("/opt/other/bin/python"))
    for cls in (DaskLauncher, MlflowLauncher):
        for spec in flatten(list(cls(context(tmp_path, "", python, cls.NAME)).processes())):
            assert spec.argv[0] == "/opt/other/bin/python"


def test_mlflow_maps_a_path_artifact_root_into_the_run(tmp_path: Path) -> None:
    launcher = MlflowLauncher(context(tmp_path, "tfvars:\n  default_artifact_root: /mnt/art\n",
                                      tool="mlflow"))
    destination = str(tmp_path / "state" / "rootfs" / "mnt" / "art")
    assert launcher.entry().expect["artifact_destination"] == destination
    migration, spec = flatten(list(launcher.processes()))
    assert migration.name == "mlflow-db-upgrade"  # the chart's init container, first
    assert spec.env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    assert spec.argv[spec.argv.index("--artifacts-destination") + 1] == destination
    assert spec.health_url == f"{launcher.url}/health"


def test_mlflow_keeps_a_remote_artifact_root(tmp_path: Path) -> None:
    launcher = MlflowLauncher(context(tmp_path, "tfvars:\n  default_artifact_root: s3://b/p\n",
                                      tool="mlflow"))
    assert launcher.artifact_destination(launcher.artifact_root) == "s3://b/p"


def test_python_env_from_scenario(tmp_path: Path) -> None:
    scenario_path = tmp_path / "s.yaml"
    scenario_path.write_text(f"description: x\nlocal:\n  python: {{dask: {sys.executable}, "
                             "mlflow: /no/such/python}\n", encoding="utf-8")
    scenario = load_scenario(str(scenario_path))
    assert python_env(scenario, "dask").python == Path(sys.executable)
    assert python_env(scenario, "feast") == PythonEnv()
    with pytest.raises(BadInputError, match=r"field 'local.python.mlflow'.*not an executable"):
        python_env(scenario, "mlflow")


def test_another_root_module_must_be_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_TERRAFORM_DIR", str(tmp_path))
    with pytest.raises(BadInputError, match=r"HARNESS_TERRAFORM_DIR=.*not a root module"):
        terraform_dir()
    monkeypatch.setenv("HARNESS_TERRAFORM_DIR", "")
    assert terraform_dir() is None
