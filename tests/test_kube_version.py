"""The Kubernetes versions under test: the charts' own `kubeVersion` constraints judged against
them (`<module>.manifests.kube-version.<release>`), the default support range read from the
charts, and the `--kube-versions` setting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from harness.charts.kube_constraint import InvalidConstraintError, KubeConstraint
from harness.charts.package import chart_meta
from harness.charts.source import ChartSource
from harness.errors import BadInputError
from harness.manifests import kube_version, rendering, schemas
from harness.manifests.kube_api import schema_versions
from harness.manifests.support_range import (
    NEWEST,
    default_kube_versions,
    parse_kube_versions,
    scenario_kube_versions,
)
from harness.static.render import Release, Rendered
from tests.helpers.charts import make_chart
from tests.helpers.release_context import ChartRelease, by_id, chart_context

if TYPE_CHECKING:
    from pathlib import Path

CONFIGMAP = {"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n"}


@pytest.mark.parametrize(("constraint", "version", "allowed"), [
    (">=1.28.0-0", "1.28", True),
    (">=1.28.0-0", "1.27", False),
    (">= 1.19.0-0 < 1.30.0-0", "1.29", True),
    (">= 1.19.0-0 < 1.30.0-0", "1.30", False),
    (">=1.20.0-0, <1.30.0-0", "1.34", False),   # Masterminds' comma means "and"
    (">=1.20.0-0, <1.30.0-0", "1.25", True),
    ("<1.26.0-0 || >=1.33.0-0", "1.34", True),
    ("<1.26.0-0 || >=1.33.0-0", "1.28", False),
    ("^1.2", "1.34", True),
    ("~1.28", "1.29", False),
    ("1.28.x", "1.28.3", True),
    (">=v1.28.0", "v1.34", True),
])
def test_constraints_read_as_helm_reads_them(constraint: str, version: str,
                                             allowed: bool) -> None:
    assert KubeConstraint(constraint).allows(version) is allowed


@pytest.mark.parametrize("constraint", ["garbage", ">=", ""])
def test_an_unreadable_constraint_is_an_error(constraint: str) -> None:
    with pytest.raises(InvalidConstraintError, match="is not a semver constraint"):
        KubeConstraint(constraint).allows("1.28")


def test_a_constraint_that_excludes_a_version_fails_naming_it(tmp_path: Path) -> None:
    ctx = chart_context(tmp_path, [ChartRelease("old", CONFIGMAP, kube_version="<1.30.0-0")])
    results = by_id(kube_version.checks(ctx))
    result = results["demo.manifests.kube-version.old"]
    assert result.status == "fail"
    assert ("demo/old (old 1.0.0): its kubeVersion '<1.30.0-0' excludes Kubernetes 1.34 "
            "(under test: 1.28, 1.34)") in result.message
    # helm refused to render it for 1.34: the render check says so once, pointing here ...
    render = by_id(rendering.checks(ctx))["demo.manifests.render.old"]
    assert render.status == "pass", render.message
    assert ("not rendered for Kubernetes 1.34: the chart's kubeVersion excludes it (see "
            "demo.manifests.kube-version.old)") in render.message
    # ... and the schema check judges the version that rendered.
    schema = by_id(schemas.checks(ctx))["demo.manifests.schema.old"]
    assert schema.status == "pass"
    assert "Kubernetes 1.28 schemas" in schema.message
    assert "not judged for Kubernetes 1.34" in schema.message


def test_a_chart_excluded_for_every_version_is_not_failed_twice(tmp_path: Path) -> None:
    ctx = chart_context(tmp_path, [ChartRelease("old", CONFIGMAP, kube_version="<1.30.0-0")],
                        kube_versions=("1.34",))
    assert by_id(kube_version.checks(ctx))["demo.manifests.kube-version.old"].status == "fail"
    render = by_id(rendering.checks(ctx))["demo.manifests.render.old"]
    assert render.status == "skip"
    assert "see demo.manifests.kube-version.old" in render.message
    assert by_id(schemas.checks(ctx))["demo.manifests.schema.old"].status == "skip"


def test_an_unreadable_constraint_fails(tmp_path: Path) -> None:
    ctx = chart_context(tmp_path, [ChartRelease("odd", CONFIGMAP, kube_version="garbage")])
    result = by_id(kube_version.checks(ctx))["demo.manifests.kube-version.odd"]
    assert result.status == "fail"
    assert "kubeVersion 'garbage' is not a semver constraint" in result.message


def test_a_chart_that_allows_the_versions_passes(tmp_path: Path) -> None:
    ctx = chart_context(tmp_path, [ChartRelease("new", CONFIGMAP, kube_version=">=1.28.0-0"),
                                   ChartRelease("any", CONFIGMAP)])
    results = by_id(kube_version.checks(ctx))
    assert results["demo.manifests.kube-version.new"].status == "pass"
    assert "'>=1.28.0-0' allows Kubernetes 1.28, 1.34" in \
        results["demo.manifests.kube-version.new"].message
    assert "declares no kubeVersion" in results["demo.manifests.kube-version.any"].message


def test_chart_meta_reads_the_chart_not_its_subcharts(tmp_path: Path) -> None:
    path = make_chart(tmp_path, "top", "2.0.0", templates=CONFIGMAP, kube_version=">=1.29.0-0")
    assert chart_meta(path)["kubeVersion"] == ">=1.29.0-0"
    assert chart_meta(path)["name"] == "top"


def test_the_default_range_is_what_the_charts_allow() -> None:
    oldest = schema_versions()[0]
    assert default_kube_versions([">=1.28.0-0", ">=1.16.0-0"]) == ("1.28", NEWEST)
    assert default_kube_versions([]) == (oldest, NEWEST)
    assert default_kube_versions([">=1.28.0-0", "<1.31.0-0"]) == ("1.28", "1.30")
    assert default_kube_versions(["garbage", ">=1.29.0-0"]) == ("1.29", NEWEST)
    # Charts that agree on nothing: the full range, and the kube-version check says who.
    assert default_kube_versions(["<1.26.0-0", ">=1.30.0-0"]) == (oldest, NEWEST)


def test_the_default_range_of_a_scenario_reads_its_chart_packages(tmp_path: Path) -> None:
    make_chart(tmp_path, "a", "1.0.0", templates=CONFIGMAP, kube_version=">=1.27.0-0")
    make_chart(tmp_path, "b", "1.0.0", templates=CONFIGMAP, kube_version="<1.33.0-0")
    releases = tuple(Release("m", name, name, "1.0.0", "", {}, "ns")
                     for name in ("a", "b", "not-at-hand"))
    assert scenario_kube_versions(Rendered(releases), ChartSource(tmp_path)) == ("1.27", "1.32")


@pytest.mark.charts
def test_the_default_range_of_todays_charts(charts_repo: Path) -> None:
    # jupyterhub 4.4.0 says >=1.28.0-0 and mlflow >=1.16.0-0; no chart names an upper bound.
    releases = (Release("jupyterhub", "jupyterhub", "jupyterhub", "4.4.0", "", {}, "jhub"),
                Release("mlflow", "mlflow", "mlflow", "1.11.5", "", {}, "mlflow"),
                Release("dask", "dask", "dask", "2024.1.1", "", {}, "dask"))
    assert scenario_kube_versions(Rendered(releases), ChartSource(charts_repo)) == ("1.28", "1.34")


def test_kube_versions_setting_is_parsed() -> None:
    assert parse_kube_versions("1.34,1.28") == ("1.28", "1.34")
    assert parse_kube_versions(" v1.30.2 , 1.30 ") == ("1.30",)


@pytest.mark.parametrize(("text", "says"), [
    ("", "--kube-versions: no version given"),
    ("1.28,latest", "--kube-versions: 'latest' is not a Kubernetes version"),
    ("1.28;1.34", "--kube-versions: '1.28;1.34' is not a Kubernetes version"),
    ("1.24", "--kube-versions: no Kubernetes schema for 1.24 here"),
    ("1.99", "--kube-versions: no Kubernetes schema for 1.99 here"),
])
def test_a_bad_kube_versions_setting_names_the_field_and_the_range(text: str, says: str) -> None:
    with pytest.raises(BadInputError) as caught:
        parse_kube_versions(text)
    assert says in str(caught.value)
    assert f"from {schema_versions()[0]} to {schema_versions()[-1]}" in str(caught.value)
