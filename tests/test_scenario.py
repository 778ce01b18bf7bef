"""Scenario loading: the shipped scenarios are valid, and every bad input is one clear line."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from harness.errors import BadInputError
from harness.scenario import load_scenario, scenario_names
from harness.settings import DaskSettings, MlflowSettings
from harness.variables import root_variables

if TYPE_CHECKING:
    from pathlib import Path

GOOD = "description: ok\ntfvars:\n  worker_replicas: 2\n"


@pytest.mark.parametrize("name", scenario_names())
def test_shipped_scenarios_load(name: str) -> None:
    scenario = load_scenario(name)
    assert scenario.description
    DaskSettings.from_scenario(scenario)
    MlflowSettings.from_scenario(scenario)


def test_defaults_scenario_holds_the_root_defaults() -> None:
    """`defaults` sets the root module's defaults, except the example worker environment."""
    scenario = load_scenario("defaults")
    variables = root_variables()
    differing = {name for name, value in scenario.tfvars.items() if value != variables[name].default}
    assert differing == {"worker_environment_variables"}
    assert DaskSettings.from_scenario(scenario).environment["PLATFORM_TEAM"] == "mlops-conformance"


def test_scenario_by_path_and_derived_settings(write_scenario) -> None:  # type: ignore[no-untyped-def]
    scenario = load_scenario(str(write_scenario(GOOD)))
    assert scenario.name == "case"
    assert DaskSettings.from_scenario(scenario).worker_replicas == 2
    assert MlflowSettings.from_scenario(scenario).default_artifact_root == "/tmp"  # root default


BAD_INPUTS = [
    ("tfvars:\n  worker_replicas: 2\n", "field 'description': required but missing"),
    ("description: x\ntfvar: {}\n", "field 'tfvar': unknown key"),
    ("description: x\ntfvars:\n  worker_replica: 2\n",
     "field 'tfvars.worker_replica': not a root module variable; did you mean 'worker_replicas'?"),
    ("description: x\ntfvars: [1]\n", "field 'tfvars'"),
    ("description: x\nlocal:\n  ready_timeout_s: {mlflow: -1}\n",
     "field 'local.ready_timeout_s.mlflow'"),
    ("description: x\nlocal:\n  timeout: 3\n", "field 'local.timeout': unknown key"),
    ("description: x\ntfvars:\n  db_password: hunter22\n",
     "field 'tfvars.db_password': secrets do not belong in scenario files"),
    ("description: [unclosed\n", "not valid YAML at line"),
    ("- just\n- a list\n", "expected a mapping"),
    ("description: x\nchecks:\n  skip: {mlflow.image-pul: no registry}\n",
     "field 'checks.skip.mlflow.image-pul': no check or tool of that name; did you mean"),
    ("description: x\nchecks:\n  skip: {mlfow: not here}\n",
     "field 'checks.skip.mlfow': no check or tool of that name; did you mean 'mlflow'?"),
]


def test_skip_keys_name_declared_checks_or_tools(write_scenario) -> None:  # type: ignore[no-untyped-def]
    text = ("description: x\nchecks:\n  skip:\n    dask.worker-count: one worker here\n"
            "    journey: not here\n    seldon: no cluster\n")
    assert set(load_scenario(str(write_scenario(text))).checks.skip) == {
        "dask.worker-count", "journey", "seldon"}


def test_known_check_ids_come_from_the_declarations(tmp_path: Path) -> None:
    from harness.check_ids import known_check_ids

    (tmp_path / "test_a.py").write_text('import heavy_never_imported\nCHECK_IDS = ("a.one", "a.two")\n',
                                        encoding="utf-8")
    (tmp_path / "helper.py").write_text('CHECK_IDS = ("not.a-check-module",)\n', encoding="utf-8")
    assert known_check_ids(tmp_path) == {"a.one", "a.two"}
    assert {"dask.connect", "journey.train-and-serve"} <= known_check_ids()


@pytest.mark.parametrize(("text", "message"), BAD_INPUTS)
def test_bad_scenario_is_one_clear_line(write_scenario, text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    path = write_scenario(text)
    with pytest.raises(BadInputError) as caught:
        load_scenario(str(path))
    assert str(path) in str(caught.value)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


BAD_SETTINGS = [
    ("worker_replicas: 0", "field 'tfvars.worker_replicas': Input should be greater than or equal to 1"),
    ("worker_replicas: three", "field 'tfvars.worker_replicas'"),
    ("worker_environment_variables: [{name: A}]", "needs exactly `name` and `value`"),
    ("default_artifact_root: ''", "field 'tfvars.default_artifact_root'"),
]


@pytest.mark.parametrize(("line", "message"), BAD_SETTINGS)
def test_bad_tool_setting_names_the_field(write_scenario, line: str, message: str) -> None:  # type: ignore[no-untyped-def]
    scenario = load_scenario(str(write_scenario(f"description: x\ntfvars:\n  {line}\n")))
    with pytest.raises(BadInputError, match="case.yaml") as caught:
        DaskSettings.from_scenario(scenario)
        MlflowSettings.from_scenario(scenario)
    assert message in str(caught.value)


def test_unknown_scenario_name_suggests() -> None:
    with pytest.raises(BadInputError, match="did you mean 'defaults'"):
        load_scenario("defualts")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="cannot read scenario file"):
        load_scenario(str(tmp_path / "missing.yaml"))
