"""Chart data for the values contract and the expected versions: from the packages of the chart
source, else from the committed offline contracts, which must equal what the packages give and
must lead to the same verdicts.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from harness.charts.contracts import (
    CONTRACTS_DIR,
    derive_contract,
    load_contract,
    placeholder_values,
    render_contract,
)
from harness.charts.package import read_package
from harness.charts.source import chart_source
from harness.manifests.checks import build_context, manifest_checks
from harness.scenario import load_scenario
from harness.secrets import run_secrets
from harness.static.chart_source import chart_data
from harness.static.chart_versions import expected_versions
from harness.static.contract import check_contracts
from harness.static.render import render_scenario
from tests.helpers.charts import make_chart

if TYPE_CHECKING:
    from pathlib import Path

    from harness.static.render import Rendered

SCENARIOS = ("defaults", "oauth", "external-postgres", "private-registry")
COMMITTED = sorted(p.name for p in CONTRACTS_DIR.glob("*.json"))


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No chart source: HARNESS_CHARTS unset and an empty cache."""
    monkeypatch.delenv("HARNESS_CHARTS", raising=False)
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def rendered() -> dict[str, Rendered]:
    loaded = {}
    for name in SCENARIOS:
        scenario = load_scenario(name)
        loaded[name] = render_scenario(dict(scenario.tfvars), secrets=run_secrets(scenario))
    return loaded


@pytest.mark.charts
@pytest.mark.parametrize("name", COMMITTED)
def test_a_committed_contract_is_what_the_mirror_gives(charts_repo: Path, name: str) -> None:
    committed = json.loads((CONTRACTS_DIR / name).read_text(encoding="utf-8"))
    chart, version = committed["chart"], committed["version"]
    package = read_package(chart_source(charts_repo).locate(chart, version))
    regenerated = render_contract(derive_contract(chart, version, package))
    assert regenerated == (CONTRACTS_DIR / name).read_text(encoding="utf-8"), (
        f"{name} is stale: run `mlops-conformance charts contracts --write --charts DIR`")


@pytest.mark.terraform
def test_every_pinned_chart_version_has_a_contract(rendered: dict[str, Rendered]) -> None:
    missing = {f"{r.chart}-{r.version}" for result in rendered.values() for r in result.releases
               if load_contract(r.chart, r.version) is None}
    assert not missing, f"no offline contract for {missing}: run `mlops-conformance charts " \
                        "contracts --write`"


def test_a_contract_holds_types_and_image_references_only(tmp_path: Path) -> None:
    make_chart(tmp_path, "demo", "1.0.0", templates={}, app_version="2.5.0", values={
        "image": {"repository": "example/demo", "tag": "2.5.0", "pullPolicy": "IfNotPresent"},
        "replicas": 2, "ratio": 0.5, "enabled": True, "args": ["--a"], "extra": {}, "none": None})
    contract = derive_contract("demo", "1.0.0", read_package(tmp_path / "demo-1.0.0.tgz"))
    assert contract["appVersion"] == "2.5.0"
    assert contract["values"] == {
        "image": {"repository": "string", "tag": "string", "pullPolicy": "string"},
        "replicas": "integer", "ratio": "number", "enabled": "boolean", "args": "array",
        "extra": {}, "none": "null"}
    assert contract["images"] == {"image": {"repository": "example/demo", "tag": "2.5.0"}}
    assert contract["schema"] is None
    assert placeholder_values(contract) == {
        "image": {"repository": "example/demo", "tag": "2.5.0", "pullPolicy": ""},
        "replicas": 0, "ratio": 0.0, "enabled": False, "args": [], "extra": {}, "none": None}


def test_a_reduced_schema_keeps_keys_types_and_required_only(tmp_path: Path) -> None:
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
              "title": "Values", "additionalProperties": False, "required": ["image"],
              "properties": {"image": {"type": "object", "description": "The image.",
                                       "properties": {"tag": {"type": "string", "enum": ["1"]}}},
                             "mode": {"oneOf": [{"const": "a"}, {"type": "string"}]}}}
    make_chart(tmp_path, "demo", "1.0.0", templates={}, values={"image": {"tag": "1"}})
    package = read_package(tmp_path / "demo-1.0.0.tgz")
    reduced = derive_contract("demo", "1.0.0", replace(package, schema=schema))["schema"]
    assert reduced == {"type": "object", "additionalProperties": False, "required": ["image"],
                       "properties": {"image": {"type": "object", "properties": {
                           "tag": {"type": "string"}}},
                           "mode": {"anyOf": [{}, {"type": "string"}]}}}


@pytest.mark.terraform
def test_offline_the_contract_check_says_so_and_finds_what_the_packages_find(
        charts_repo: Path, rendered: dict[str, Rendered], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    for name in SCENARIOS:
        monkeypatch.setenv("HARNESS_CHARTS", str(charts_repo))
        online = check_contracts(rendered[name])
        versions = expected_versions(rendered[name].releases)
        monkeypatch.delenv("HARNESS_CHARTS")
        away = check_contracts(rendered[name])
        assert [(v.release, v.key_path, v.passed) for v in away] == \
            [(v.release, v.key_path, v.passed) for v in online], name
        assert all("offline contract" not in v.message for v in online)
        assert all(v.message.endswith(f"(checked against the offline contract contracts/"
                                      f"{v.chart}-{v.chart_version}.json: no chart package at "
                                      "hand)") for v in away), name
        assert expected_versions(rendered[name].releases) == versions, name


@pytest.mark.terraform
def test_offline_a_misspelt_key_still_fails(offline: None,
                                            rendered: dict[str, Rendered]) -> None:
    release = next(r for r in rendered["defaults"].releases if r.chart == "jupyterhub")
    broken = replace(rendered["defaults"],
                     releases=(replace(release, values={**release.values, "hubb": {}}),))
    failures = [v for v in check_contracts(broken) if not v.passed]
    assert [v.key_path for v in failures] == ["hubb"]
    assert "unknown key 'hubb'" in failures[0].message
    assert "offline contract contracts/jupyterhub-4.4.0.json" in failures[0].message


@pytest.mark.terraform
def test_offline_manifest_rendering_is_skipped_with_the_fix(
        offline: None, rendered: dict[str, Rendered]) -> None:
    scenario = load_scenario("defaults")
    ctx = build_context("defaults", dict(scenario.tfvars), rendered["defaults"],
                        source=chart_source(), kube_versions=("1.28", "1.34"))
    results, _findings = manifest_checks(ctx)
    render = [r for r in results if ".manifests.render." in r.id]
    assert render
    assert {r.status for r in render} == {"skip"}
    assert all("has not been pulled" in r.message and "mlops-conformance charts pull" in r.message
               and "--charts" in r.message for r in render)


def test_no_package_and_no_contract_names_what_is_there(offline: None) -> None:
    with pytest.raises(FileNotFoundError, match=r"no chart data for dask 9\.9\.9 \(have: "
                                                r"2024\.1\.0, 2024\.1\.1\).*charts contracts"):
        chart_data("dask", "9.9.9")
