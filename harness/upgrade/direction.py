"""Whether going from one version set to another is an upgrade: a chart older in the `to`
set than in the `from` set makes it a downgrade, which most tools refuse (a schema migrated
forward is not migrated back).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

if TYPE_CHECKING:
    from harness.version_sets import VersionSet


def downgrades(from_set: VersionSet, to_set: VersionSet) -> list[str]:
    """`variable from -> to` for each chart the `to` set has older than the `from` set.

    >>> from harness.version_sets import VersionSet
    >>> old = VersionSet(description="", charts={"mlflow_chart_version": "1.6.0"})
    >>> new = VersionSet(description="", charts={"mlflow_chart_version": "1.11.5"})
    >>> downgrades(old, new), downgrades(new, old)
    ([], ['mlflow_chart_version 1.11.5 -> 1.6.0'])
    """
    older = []
    for variable, version in to_set.charts.items():
        before = from_set.charts.get(variable)
        if before is None:
            continue
        try:
            if Version(version) < Version(before):
                older.append(f"{variable} {before} -> {version}")
        except InvalidVersion:
            continue  # not comparable: not judged
    return older
