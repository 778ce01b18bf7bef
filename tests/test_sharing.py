"""Sharing between scenarios of one run: a tool runs again only where its module inputs differ."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.cli import _child_args
from harness.scenario import load_scenario
from harness.sharing import module_inputs, tools_to_provision

if TYPE_CHECKING:
    from pathlib import Path


def test_module_inputs_are_root_variable_names() -> None:
    inputs = module_inputs()
    assert "worker_replicas" in inputs["dask"]
    assert "enable_dask" in inputs["dask"]
    assert "db_host" in inputs["mlflow"]
    assert "oauth_github_enable" in inputs["jupyterhub"]
    assert "worker_replicas" not in inputs["mlflow"]


def test_shipped_scenarios_differ_where_expected() -> None:
    base = load_scenario("defaults")
    assert tools_to_provision(base, base) == frozenset()
    assert {"mlflow", "prefect"} <= tools_to_provision(base, load_scenario("external-postgres"))
    oauth = tools_to_provision(base, load_scenario("oauth"))
    assert "jupyterhub" in oauth
    assert not oauth & {"mlflow", "prefect", "feast", "seldon"}


def test_child_arguments(tmp_path: Path) -> None:
    other = tmp_path / "more-workers.yaml"
    other.write_text("description: x\ntfvars:\n  worker_replicas: 5\n", encoding="utf-8")
    same = tmp_path / "same.yaml"
    same.write_text("description: y\n", encoding="utf-8")
    names = ["defaults", str(other), str(same)]
    loaded = [load_scenario(n) for n in names]
    shared = _child_args(names, loaded, None, share=True, common=["-m", "dask"])
    assert shared["defaults"] == ["-m", "dask"]
    assert shared[str(other)] == ["-m", "dask", "--tools", "dask", "--shared-with", "defaults"]
    # `same` differs only by `worker_environment_variables` defaults: dask again, nothing else.
    assert shared[str(same)][3] == "dask"
    alone = _child_args(names, loaded, frozenset({"mlflow"}), share=False, common=[])
    assert alone[str(other)] == ["--tools", "mlflow"]


def test_each_version_set_shares_with_its_own_first_column() -> None:
    # Between version sets nearly every chart differs: a `current` column compared with the
    # `previous` base would start everything again; with its own set's, only what differs.
    names = ["defaults@previous", "defaults@current", "oauth@previous", "oauth@current"]
    loaded = [load_scenario(name.split("@")[0]) for name in names]
    shared = _child_args(names, loaded, None, share=True, common=[],
                         version_sets=["previous", "current", "previous", "current"])
    assert shared["defaults@previous"] == shared["defaults@current"] == []
    assert shared["oauth@previous"][-2:] == ["--shared-with", "defaults@previous"]
    assert shared["oauth@current"][-2:] == ["--shared-with", "defaults@current"]
    assert "jupyterhub" in shared["oauth@current"][1].split(",")
    assert "mlflow" not in shared["oauth@current"][1].split(",")
