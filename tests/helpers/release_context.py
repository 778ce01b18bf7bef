"""A ManifestContext of synthetic charts, built as the static stage builds one: each chart
rendered with the harness's own helm for each Kubernetes version under test.

    ctx = chart_context(tmp_path, [ChartRelease("demo", templates={"cm.yaml": "..."})],
                        kube_versions=("1.28", "1.34"))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.charts.source import ChartSource
from harness.manifests.checks import build_context
from harness.static.render import KubeSecret, Release, Rendered
from tests.helpers.charts import make_chart

if TYPE_CHECKING:
    from pathlib import Path

    from harness.manifests.context import ManifestContext
    from harness.report.model import CheckResult


@dataclass(frozen=True)
class ChartRelease:
    """One synthetic chart and the release of it a module installs."""

    chart: str
    templates: dict[str, str] = field(default_factory=dict)
    module: str = "demo"
    release: str = ""
    namespace: str = "demo"
    version: str = "1.0.0"
    kube_version: str = ""
    crds: dict[str, str] | None = None
    values: dict[str, Any] = field(default_factory=dict)
    packaged: bool = True  # False: the chart is not at hand


def chart_context(tmp_path: Path, charts: list[ChartRelease], *,
                  kube_versions: tuple[str, ...] = ("1.28", "1.34"),
                  tfvars: dict[str, Any] | None = None,
                  secrets: tuple[KubeSecret, ...] = (),
                  secret_strings: frozenset[str] = frozenset()) -> ManifestContext:
    """Package each chart into `tmp_path/charts` and render its release for each version."""
    directory = tmp_path / "charts"
    directory.mkdir(exist_ok=True)
    releases = []
    for item in charts:
        if item.packaged:
            make_chart(directory, item.chart, item.version, templates=item.templates,
                       kube_version=item.kube_version, crds=item.crds)
        releases.append(Release(item.module, item.release or item.chart, item.chart,
                                item.version, "https://charts.example.com", dict(item.values),
                                item.namespace))
    rendered = Rendered(tuple(releases), secret_strings=secret_strings, kube_secrets=secrets)
    return build_context("synthetic", dict(tfvars or {}), rendered,
                         source=ChartSource(directory), kube_versions=kube_versions)


def by_id(results: list[CheckResult]) -> dict[str, CheckResult]:
    """Results keyed by check id (ids are unique)."""
    found = {r.id: r for r in results}
    assert len(found) == len(results), "check ids must be unique"
    return found
