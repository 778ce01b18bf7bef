"""What the scenario's charts deploy, per tool and component: the version each rendered
release's image carries (the image tag after the module's values), or the chart's
`appVersion` where the chart takes its image version from it.

Public API:
    expected_versions(releases) -> list[ExpectedVersion]
    version_drift(expected, ran) -> list[VersionDrift]: where what ran differs
    scenario_drift(name, ran) -> list[VersionDrift]: the same for a scenario by name
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.report.model import VersionDrift
from harness.static.chart_source import chart_data
from harness.static.contract import merge_values
from harness.versioning import release_of, same_version

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from harness.static.render import Release


@dataclass(frozen=True)
class ExpectedVersion:
    """One component's version as a chart deploys it, and where that was read."""

    tool: str
    component: str
    version: str
    source: str


@dataclass(frozen=True)
class _Chart:
    """A release's chart: its Chart.yaml and its values after the module's overrides."""

    release: Release
    meta: dict[str, Any]
    values: dict[str, Any]

    def label(self) -> str:
        return f"{self.release.name} ({self.release.chart} {self.release.version})"

    def app_version(self, tool: str, component: str) -> ExpectedVersion | None:
        version = str(self.meta.get("appVersion") or "")
        if not release_of(version):
            return None
        return ExpectedVersion(tool, component, version, f"{self.label()}: Chart.yaml appVersion")

    def tag(self, tool: str, component: str, path: str, key: str = "tag",
            default_app_version: bool = True) -> ExpectedVersion | None:
        """The version in the image object at `path` (its `key`), else the appVersion."""
        image = _at(self.values, path)
        tag = str(image.get(key) or "") if isinstance(image, dict) else ""
        version = release_of(tag)
        if version is None:
            return self.app_version(tool, component) if default_app_version else None
        name = image.get("repository") or image.get("image") or image.get("name") or "image"
        return ExpectedVersion(tool, component, version,
                               f"{self.label()}: {path}.{key} ({name}:{tag})")


def _at(values: Any, path: str) -> Any:
    for key in path.split("."):
        values = values.get(key) if isinstance(values, dict) else None
    return values


def _enabled(chart: _Chart, subchart: str) -> bool:
    return bool(_at(chart.values, f"{subchart}.enabled"))


def _dask(chart: _Chart) -> list[ExpectedVersion | None]:
    return [chart.tag("dask", "scheduler", "scheduler.image"),
            chart.tag("dask", "workers", "worker.image")]


def _feast(chart: _Chart) -> list[ExpectedVersion | None]:
    mode = str(chart.values.get("feast_mode") or "online")
    return [chart.tag("feast", "server" if mode == "online" else f"{mode}-server", "image")]


def _prefect_server(chart: _Chart) -> list[ExpectedVersion | None]:
    found = [chart.tag("prefect", "server", "global.prefect.image", "prefectTag")]
    # The bundled PostgreSQL and Redis subcharts, when on, run the images the parent names.
    if _enabled(chart, "postgresql"):
        found.append(chart.tag("postgres", "server", "postgresql.image",
                               default_app_version=False))
    if _enabled(chart, "redis"):
        found.append(chart.tag("redis", "server", "redis.image", default_app_version=False))
    return found


def _seldon(chart: _Chart) -> list[ExpectedVersion | None]:
    # SeldonDeployments of MLFLOW_SERVER with the V2 protocol run this MLServer image; its
    # `-mlflow` tag carries MLServer and its MLflow runtime of one version.
    path = "predictor_servers.MLFLOW_SERVER.protocols.v2"
    return [chart.tag("seldon", component, path, "defaultImageVersion", default_app_version=False)
            for component in ("mlserver", "mlserver-mlflow")]


_RULES: dict[str, Callable[[_Chart], list[ExpectedVersion | None]]] = {
    "dask": _dask,
    "feast-feature-server": _feast,
    # The hub image's tag is the chart's version; the JupyterHub it carries is appVersion.
    "jupyterhub": lambda chart: [chart.app_version("jupyterhub", "hub")],
    "mlflow": lambda chart: [chart.tag("mlflow", "server", "image")],
    "postgresql": lambda chart: [chart.tag("postgres", "server", "image")],
    "redis": lambda chart: [chart.tag("redis", "server", "image")],
    "prefect-server": _prefect_server,
    "prefect-worker": lambda chart: [chart.tag("prefect", "worker", "worker.image", "prefectTag")],
    "seldon-core-operator": _seldon,
}


def expected_versions(releases: Iterable[Release]) -> list[ExpectedVersion]:
    """Every component version the releases deploy, in release order.

    Raises:
        FileNotFoundError: no chart data for a release's chart version.
    """
    found: list[ExpectedVersion] = []
    for release in releases:
        rule = _RULES.get(release.chart)
        if rule is None:
            continue
        # Offline, the committed contract gives appVersion and the default image references.
        data = chart_data(release.chart, release.version, release.repository)
        chart = _Chart(release, data.meta, merge_values(data.values, release.values))
        found += [expected for expected in rule(chart) if expected is not None]
    return found


def version_drift(
    expected: Iterable[ExpectedVersion], ran: Mapping[str, Mapping[str, str]]
) -> list[VersionDrift]:
    """The components whose version read from the running server (`ran`: tool -> component ->
    version) differs from what a chart deploys; components nothing was read of are left out.
    """
    drift = []
    for item in expected:
        seen = ran.get(item.tool, {}).get(item.component)
        if seen is not None and not same_version(seen, item.version):
            drift.append(VersionDrift(tool=item.tool, component=item.component, ran=seen,
                                      chart=item.version, source=item.source))
    return drift


def scenario_drift(scenario_name: str, ran: Mapping[str, Mapping[str, str]]) -> list[VersionDrift]:
    """Drift against the charts of the scenario a stack names (for `check --stack`, which has
    no static stage); none when the name is not a scenario of this project, or its values do
    not render (`run` and `render` report that; `check` judges the running servers).
    """
    from harness.errors import BadInputError  # noqa: PLC0415 - only `check` needs these
    from harness.scenario import load_scenario  # noqa: PLC0415
    from harness.secrets import run_secrets  # noqa: PLC0415
    from harness.static.render import RenderError, render_scenario  # noqa: PLC0415 - Terraform

    try:
        scenario = load_scenario(scenario_name)
        rendered = render_scenario(dict(scenario.tfvars), secrets=run_secrets(scenario))
        return version_drift(expected_versions(rendered.releases), ran)
    except (BadInputError, RenderError, FileNotFoundError):
        return []
