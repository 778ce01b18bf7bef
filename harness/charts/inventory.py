"""Which chart versions the scenarios install: every `helm_release` the modules render, with
the repository the module names, grouped by (chart, version).

Public API:
    chart_uses(scenarios) -> list[ChartUse]   sorted by chart and version
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from harness.scenario import Scenario


@dataclass(frozen=True)
class ChartUse:
    """One chart version, where it comes from and the releases (`module/release`) using it."""

    chart: str
    version: str
    repository: str
    releases: tuple[str, ...]


def chart_uses(scenarios: Iterable[Scenario]) -> list[ChartUse]:
    """The chart versions the scenarios' modules install (rendered with Terraform, offline)."""
    from harness.secrets import run_secrets  # noqa: PLC0415 - Terraform only when asked
    from harness.static.render import render_scenario  # noqa: PLC0415

    found: dict[tuple[str, str, str], set[str]] = {}
    for scenario in scenarios:
        rendered = render_scenario(dict(scenario.tfvars), secrets=run_secrets(scenario))
        for release in rendered.releases:
            key = (release.chart, release.version, release.repository)
            found.setdefault(key, set()).add(f"{release.module}/{release.name}")
    return [ChartUse(chart, version, repository, tuple(sorted(releases)))
            for (chart, version, repository), releases in sorted(found.items())]
