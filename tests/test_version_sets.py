"""Version sets: `versions/<name>.yaml` load, validate like scenarios, and apply as tfvars."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from harness.errors import BadInputError
from harness.variables import root_variables
from harness.version_sets import (
    apply_version_set,
    chart_version_variables,
    load_version_set,
    version_set_names,
)
from tests.conftest import CLI


def test_current_is_the_pinned_versions() -> None:
    """`current` equals the defaults of every chart-version variable, so it cannot go stale."""
    variables = root_variables()
    pins = {name: variables[name].default for name in chart_version_variables()}
    assert load_version_set("current").charts == pins


def test_previous_names_every_chart_and_seldon_stays() -> None:
    previous = load_version_set("previous")
    assert set(previous.charts) == set(chart_version_variables())
    # Nothing older than the Apache-2.0 pin in the mirror; 1.18.2 is newer and BSL-licensed.
    assert previous.charts["seldon_chart_version"] == "1.17.1"
    assert previous.charts["jupyterhub_chart_version"] == "3.3.8"


def test_names_and_chart_variables() -> None:
    assert {"current", "previous"} <= set(version_set_names())
    assert "feast_postgresql_chart_version" in chart_version_variables()
    assert all(name.endswith("_chart_version") for name in chart_version_variables())


def test_apply_overrides_the_scenario() -> None:
    previous = load_version_set("previous")
    tfvars = apply_version_set({"mlflow_chart_version": "9.9.9", "enable_dask": True}, previous)
    assert tfvars["mlflow_chart_version"] == "1.6.0"
    assert tfvars["enable_dask"] is True
    assert previous.tfvars() == previous.charts


@pytest.mark.charts
def test_every_set_version_is_in_the_mirror(charts_repo: Path) -> None:
    """The sets name releases the mirror holds (chart names as the modules install them)."""
    index = yaml.safe_load((charts_repo / "index.yaml").read_text())["entries"]
    chart_of = {"jupyterhub_chart_version": "jupyterhub", "prefect_chart_version":
                "prefect-server", "prefect_worker_chart_version": "prefect-worker",
                "dask_chart_version": "dask", "feast_chart_version": "feast-feature-server",
                "feast_postgresql_chart_version": "postgresql",
                "feast_redis_chart_version": "redis", "mlflow_chart_version": "mlflow",
                "seldon_chart_version": "seldon-core-operator"}
    for name in ("current", "previous"):
        for variable, version in load_version_set(name).charts.items():
            held = {str(e["version"]) for e in index[chart_of[variable]]}
            assert version in held, f"{name}: {variable} {version} not in the mirror"


@pytest.mark.parametrize(("text", "expected"), [
    ("description: x\ncharts: {}\nextra: 1\n", "field 'extra': unknown key"),
    ("description: x\ncharts:\n  jupyterhub_chart_verison: 4.4.0\n",
     "field 'charts.jupyterhub_chart_verison': not a chart-version variable of "
     "terraform/variables.tf; did you mean 'jupyterhub_chart_version'?"),
    ("description: x\ncharts:\n  enable_dask: '1'\n", "not a chart-version variable"),
    ("description: x\ncharts:\n  seldon_chart_version: 1.18\n", "is not text; quote it"),
    ("charts: {}\n", "field 'description': required but missing"),
    ("description: x\ncharts: [\n", "not valid YAML"),
])
def test_bad_sets_are_one_line_errors(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(BadInputError) as raised:
        load_version_set(str(path))
    message = str(raised.value)
    assert expected in message
    assert str(path) in message
    assert "\n" not in message


def test_unknown_name_suggests_the_known_one() -> None:
    with pytest.raises(BadInputError, match=r"--from 'previos': no such version set .*"
                                            r"did you mean 'previous'\?"):
        load_version_set("previos", "--from")


def test_missing_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="cannot read version set"):
        load_version_set(str(tmp_path / "gone.yaml"))


@pytest.mark.parametrize(("args", "expected"), [
    (["--from", "nosuch", "--to", "current"], "--from 'nosuch': no such version set"),
    (["--from", "previous", "--to", "{bad}"], "--to "),
    (["--from", "/nonexistent/old.yaml", "--to", "current"],
     "--from /nonexistent/old.yaml: cannot read version set"),
    (["--from", "{extra}", "--to", "current"], "field 'extra': unknown key"),
    (["--from", "previous", "--to", "current", "--scenario", "nosuch"],
     "--scenario 'nosuch': no such scenario"),
    (["--from", "previous", "--to", "current", "--kube-version", "1.2"],
     "--kube-version '1.2': no API data"),
])
def test_cli_bad_input_exits_2(tmp_path: Path, args: list[str], expected: str) -> None:
    if "{bad}" in args:
        bad = tmp_path / "bad.yaml"
        bad.write_text("description: x\ncharts:\n  nope_chart_version: 1.0.0\n")
        args = [str(bad) if a == "{bad}" else a for a in args]
        expected = f"{bad}: field 'charts.nope_chart_version'"
    if "{extra}" in args:
        extra = tmp_path / "extra.yaml"
        extra.write_text("description: x\ncharts: {}\nextra: 1\n")
        args = [str(extra) if a == "{extra}" else a for a in args]
    done = subprocess.run([*CLI, "upgrade-plan", *args], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
