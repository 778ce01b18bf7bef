"""Where chart packages come from: a directory of `<name>-<version>.tgz` (`--charts`,
`HARNESS_CHARTS`), or by default the upstream repositories the modules name, pulled once into
the cache (`mlops-conformance charts pull`).

Public API:
    chart_source(setting=None) -> ChartSource   (the setting, else HARNESS_CHARTS, else upstream)
    ChartSource.locate(chart, version, repository="") -> Path of the .tgz
    ChartUnavailableError(reason, fix)         what is missing and the command that fixes it
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harness.charts.helm import cache_root

ENV_CHARTS = "HARNESS_CHARTS"


class ChartUnavailableError(RuntimeError):
    """A chart package is not at hand; `fix` is the command that makes it so."""

    def __init__(self, reason: str, fix: str) -> None:
        self.reason = reason
        self.fix = fix
        super().__init__(f"{reason} (fix: {fix})")


@dataclass(frozen=True)
class ChartSource:
    """A directory of chart packages; `upstream` when it is the cache of pulled charts."""

    directory: Path
    upstream: bool = False

    def describe(self) -> str:
        """Where charts come from, for reports and `charts list`."""
        if self.upstream:
            return f"upstream chart repositories, cached in {self.directory}"
        return f"directory {self.directory}"

    def locate(self, chart: str, version: str, repository: str = "") -> Path:
        """The package `<chart>-<version>.tgz`.

        Raises:
            ChartUnavailableError: it is not in the directory (or not pulled yet).

        """
        path = self.directory / f"{chart}-{version}.tgz"
        if path.is_file():
            return path
        if self.upstream:
            where = f" from {repository}" if repository else ""
            raise ChartUnavailableError(
                f"chart {chart} {version}{where} has not been pulled into {self.directory}",
                "mlops-conformance charts pull (on a machine with network), or --charts DIR")
        raise ChartUnavailableError(
            f"chart {chart} {version} is not in {self.directory} (no {path.name})",
            f"put {path.name} there, or point --charts / {ENV_CHARTS} at a directory that has it")


def chart_source(setting: str | Path | None = None) -> ChartSource:
    """The chart source: `setting`, else `HARNESS_CHARTS`, else the upstream cache."""
    chosen = setting or os.environ.get(ENV_CHARTS)
    if chosen:
        return ChartSource(Path(chosen).expanduser().resolve())
    return ChartSource(cache_root() / "charts", upstream=True)
