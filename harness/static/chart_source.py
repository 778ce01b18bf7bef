"""Chart data for the values contract and the expected versions: read from the chart package
the chart source has at hand (`Chart.yaml`, `values.yaml`, the values schema), else from the
committed offline contract of that version (`harness/static/contracts/`, see
`harness.charts.contracts`), which says so in `origin`.

Public API:
    chart_data(chart, version, repository="") -> ChartData   raises FileNotFoundError
    ChartData(chart, version, meta, values, schema, origin, offline)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from harness.charts.contracts import CONTRACTS_DIR, REGENERATE, load_contract, placeholder_values
from harness.charts.package import PackageError, read_package
from harness.charts.source import ChartUnavailableError, chart_source


@dataclass(frozen=True)
class ChartData:
    """What the checks read of one chart version, and where it came from.

    Offline (`offline`), `values` holds a value of the right type for every default key (with
    the default image references), not the chart's defaults, and `schema` only keys, types and
    required keys.
    """

    chart: str
    version: str
    meta: dict[str, Any]
    values: dict[str, Any]
    schema: dict[str, Any] | None
    origin: str
    offline: bool = False

    @property
    def defaults(self) -> dict[str, Any]:
        """The chart's real default values; {} offline (only their types are known)."""
        return {} if self.offline else self.values


def chart_data(chart: str, version: str, repository: str = "") -> ChartData:
    """The data of `chart` `version`: from its package when at hand, else its offline contract.

    Raises:
        FileNotFoundError: neither is there; names what the source has and the fix.

    """
    source = chart_source()
    try:
        path = source.locate(chart, version, repository)
        package = read_package(path)
    except ChartUnavailableError as exc:
        unavailable, fix = exc.reason, exc.fix
    except PackageError as exc:
        unavailable, fix = str(exc), "replace the file with the chart package"
    else:
        return ChartData(chart, version, package.meta, package.values, package.schema, str(path))
    offline = _offline(chart, version)
    if offline is None:
        have = sorted({*source.versions(chart),
                       *(p.stem[len(chart) + 1:] for p in CONTRACTS_DIR.glob(f"{chart}-*.json")
                         if p.stem[len(chart) + 1:][:1].isdigit())})
        msg = (f"no chart data for {chart} {version} (have: {', '.join(have) or 'none'}): "
               f"{unavailable}, and no offline contract (fix: {fix}; then `{REGENERATE}` "
               "adds its contract)")
        raise FileNotFoundError(msg)
    return offline


@cache
def _offline(chart: str, version: str) -> ChartData | None:
    contract = load_contract(chart, version)
    if contract is None:
        return None
    meta = {"name": chart, "version": version, "appVersion": contract.get("appVersion") or None,
            "kubeVersion": contract.get("kubeVersion") or None}
    return ChartData(chart, version, meta, placeholder_values(contract), contract.get("schema"),
                     f"offline contract {CONTRACTS_DIR.name}/{chart}-{version}.json",
                     offline=True)
