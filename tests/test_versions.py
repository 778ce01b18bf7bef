"""Versions: what the scenario's charts deploy, the drift table in every report format, and the
comparison that fails a version check.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

import pytest

from harness.report.model import Report, ScenarioRun, VersionDrift
from harness.report.render import to_html, to_junit, to_markdown, write_all
from harness.scenario import load_scenario
from harness.secrets import run_secrets
from harness.static.chart_source import chart_data
from harness.static.chart_versions import (
    ExpectedVersion,
    expected_versions,
    scenario_drift,
    version_drift,
)
from harness.static.render import render_scenario
from harness.versioning import expect_versions, same_series, same_version, version_problems

if TYPE_CHECKING:
    from pathlib import Path

    from harness.static.render import Release

# What the defaults deploy: (tool, component) -> (version, where it is read).
DEFAULTS = {
    ("dask", "scheduler"): ("2024.1.0", "scheduler.image.tag (ghcr.io/dask/dask:2024.1.0)"),
    ("dask", "workers"): ("2024.1.0", "worker.image.tag (ghcr.io/dask/dask:2024.1.0)"),
    ("feast", "server"): ("0.66.0", "image.tag (quay.io/feastdev/feature-server:0.66.0)"),
    ("feast", "offline-server"): ("0.66.0", "image.tag"),
    ("feast", "registry-server"): ("0.66.0", "image.tag"),
    ("jupyterhub", "hub"): ("5.5.0", "jupyterhub (jupyterhub 4.4.0): Chart.yaml appVersion"),
    ("mlflow", "server"): ("3.15.1", "mlflow (mlflow 1.11.5): Chart.yaml appVersion"),
    ("prefect", "server"): ("3.8.3", "global.prefect.image.prefectTag"),
    ("prefect", "worker"): ("3.8.3", "worker.image.prefectTag"),
    ("redis", "server"): ("8.2.1", "feast-redis (redis 23.1.1): image.tag"),
    ("seldon", "mlserver"): ("1.3.5", "(seldonio/mlserver:1.3.5-mlflow)"),
    ("seldon", "mlserver-mlflow"): ("1.3.5", "predictor_servers.MLFLOW_SERVER.protocols.v2"),
}


@pytest.fixture(scope="module")
def releases() -> dict[str, tuple[Release, ...]]:
    """Each scenario's rendered releases (Terraform renders each once for the module)."""
    rendered = {}
    for name in ("defaults", "private-registry", "external-postgres"):
        scenario = load_scenario(name)
        rendered[name] = render_scenario(dict(scenario.tfvars),
                                         secrets=run_secrets(scenario)).releases
    return rendered


def by_component(found: list[ExpectedVersion]) -> dict[tuple[str, str], list[ExpectedVersion]]:
    table: dict[tuple[str, str], list[ExpectedVersion]] = {}
    for item in found:
        table.setdefault((item.tool, item.component), []).append(item)
    return table


def test_defaults_deploy_the_charts_versions(releases: dict[str, tuple[Release, ...]]) -> None:
    table = by_component(expected_versions(releases["defaults"]))
    for key, (version, source) in DEFAULTS.items():
        assert [item.version for item in table[key]] == [version], key
        assert source in table[key][0].source, (key, table[key][0].source)
    # PostgreSQL twice: Feast's own release, and Prefect's bundled subchart (parent's values).
    postgres = {item.version: item.source for item in table[("postgres", "server")]}
    assert set(postgres) == {"17.6.0", "14.13.0"}
    assert "feast-postgresql (postgresql 17.1.0): image.tag" in postgres["17.6.0"]
    assert "prefect-server" in postgres["14.13.0"]
    assert "postgresql.image.tag (bitnamilegacy/postgresql:14.13.0)" in postgres["14.13.0"]


def test_private_registry_changes_image_tags(releases: dict[str, tuple[Release, ...]]) -> None:
    table = by_component(expected_versions(releases["private-registry"]))
    mlflow = table[("mlflow", "server")][0]
    assert mlflow.version == "3.6.0"  # image_tag, instead of the chart's appVersion
    assert mlflow.source.endswith("image.tag (registry.example.internal:5000/mlops/mlflow:3.6.0)")
    workers = table[("dask", "workers")][0]
    assert workers.version == "2024.1.0"
    assert "registry.example.internal:5000/mlops/dask:2024.1.0" in workers.source
    assert table[("jupyterhub", "hub")][0].version == "5.5.0"


def test_external_database_drops_the_bundled_postgresql(
    releases: dict[str, tuple[Release, ...]],
) -> None:
    table = by_component(expected_versions(releases["external-postgres"]))
    # postgresql_use_subchart = false: Prefect's subchart is off, only Feast's release is left.
    assert [item.version for item in table[("postgres", "server")]] == ["17.6.0"]


def test_drift_lists_only_what_differs_from_what_ran() -> None:
    expected = [ExpectedVersion("dask", "workers", "2024.1.0", "dask (dask 2024.1.1): tag"),
                ExpectedVersion("mlflow", "server", "3.15.1", "mlflow: appVersion"),
                ExpectedVersion("postgres", "server", "18.6.0", "pg: image.tag"),
                ExpectedVersion("redis", "server", "8.2.1", "redis: image.tag")]
    ran = {"dask": {"workers": "2026.8.0"}, "mlflow": {"server": "3.15.1"},
           "postgres": {"server": "18.6"}}
    assert version_drift(expected, ran) == [VersionDrift(
        tool="dask", component="workers", ran="2026.8.0", chart="2024.1.0",
        source="dask (dask 2024.1.1): tag")]


def test_check_of_a_stack_finds_its_scenarios_drift() -> None:
    ran = {"jupyterhub": {"hub": "6.1.1"}, "mlflow": {"server": "3.15.1"}}
    assert scenario_drift("defaults", ran) == [VersionDrift(
        tool="jupyterhub", component="hub", ran="6.1.1", chart="5.5.0",
        source="jupyterhub (jupyterhub 4.4.0): Chart.yaml appVersion")]
    assert scenario_drift("prod", ran) == []  # not a scenario of this project


def test_version_comparison() -> None:
    assert same_version("17.6.0-debian-12-r4", "17.6")
    assert not same_version("2026.8.0", "2024.1.0")
    assert not same_version("set-by-chartpress", "set-by-chartpress")
    assert same_series("3.17.2", "3.6.0")
    assert not same_series("2.22.0", "3.17.2")
    assert not same_series("0.67.0", "0.66.0")


def test_a_disagreeing_reading_fails_the_check() -> None:
    assert version_problems("server", "3.17.2", claimed="3.17.2", client="3.15.1") == []
    with pytest.raises(AssertionError, match=r"^dask: worker tcp://w:1 reports 2025\.1\.0, but "
                       r"the target says it runs 2026\.8\.0$"):
        expect_versions("dask", "worker tcp://w:1", "2025.1.0", claimed="2026.8.0")
    with pytest.raises(AssertionError, match="client library 2.22.0 and the server 3.17.2"):
        expect_versions("mlflow", "server", "3.17.2", claimed="3.17.2", client="2.22.0")


def test_missing_chart_data_names_what_is_there(charts_repo: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_CHARTS", str(charts_repo))
    with pytest.raises(FileNotFoundError, match=r"dask 9\.9\.9 \(have: 2024\.1\.0, 2024\.1\.1\): "
                                                r"chart dask 9\.9\.9 is not in "):
        chart_data("dask", "9.9.9")


def drift_report() -> Report:
    run = ScenarioRun(scenario="defaults", target="local://", version_drift=[
        VersionDrift(tool="jupyterhub", component="hub", ran="6.1.1", chart="5.5.0",
                     source="jupyterhub (jupyterhub 4.4.0): Chart.yaml appVersion"),
        VersionDrift(tool="postgres", component="server", ran="18.6", chart="14.13.0",
                     source="prefect-server (prefect-server 2026.8.18172642): "
                            "postgresql.image.tag (bitnamilegacy/postgresql:14.13.0)")])
    return Report(run_id="r1", runs=[run, ScenarioRun(scenario="oauth", target="local://")])


def test_drift_table_in_every_format(tmp_path: Path) -> None:
    report = drift_report()
    write_all(report, tmp_path)
    saved = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert saved["runs"][0]["version_drift"][0] == {
        "tool": "jupyterhub", "component": "hub", "ran": "6.1.1", "chart": "5.5.0",
        "source": "jupyterhub (jupyterhub 4.4.0): Chart.yaml appVersion", "reason": ""}
    assert Report.load(tmp_path / "report.json") == report

    markdown = to_markdown(report)
    section = markdown.split("## Version drift", 1)[1]
    assert "| scenario | tool | component | ran | chart deploys | from | why |" in section
    assert "| defaults | jupyterhub | hub | `6.1.1` | `5.5.0` | jupyterhub (jupyterhub 4.4.0): " \
           "Chart.yaml appVersion | – |" in section
    assert "| defaults | postgres | server | `18.6` | `14.13.0` |" in section

    html = to_html(report)
    assert "<h2>Version drift</h2>" in html
    assert "<td><code>6.1.1</code></td><td><code>5.5.0</code></td>" in html

    suites = ET.fromstring(to_junit(report)).findall("testsuite")
    properties = {p.get("name"): p.get("value") for p in suites[0].iter("property")}
    assert properties["version-drift.jupyterhub.hub"] == \
        "ran 6.1.1; chart deploys 5.5.0 (jupyterhub (jupyterhub 4.4.0): Chart.yaml appVersion)"
    assert not [p for p in suites[1].iter("property") if "drift" in (p.get("name") or "")]


def test_no_drift_no_section() -> None:
    report = Report(run_id="r2", runs=[ScenarioRun(scenario="defaults", target="local://")])
    assert "Version drift" not in to_markdown(report)
    assert "Version drift" not in to_html(report)
