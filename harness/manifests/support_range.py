"""The Kubernetes versions the manifests are judged for (the support range).

By default the oldest and the newest version the scenario's charts allow: the oldest is the
lowest minor release that every chart's `kubeVersion` accepts (today 1.28: jupyterhub 4.4.0
says `>=1.28.0-0`); the newest is NEWEST unless a chart's constraint stops earlier. A setting
(`--kube-versions 1.28,1.34`, read with `parse_kube_versions`) replaces the default.

Public API:
    NEWEST                                     the newest version judged by default
    default_kube_versions(constraints) -> (oldest, newest)
    scenario_kube_versions(rendered, source) -> (oldest, newest)   from the charts at hand
    parse_kube_versions(text) -> tuple[str, ...]   raises BadInputError
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from harness.charts.kube_constraint import InvalidConstraintError, KubeConstraint
from harness.charts.package import chart_meta
from harness.charts.source import ChartUnavailableError
from harness.errors import BadInputError
from harness.manifests.kube_api import minor_of, schema_versions

if TYPE_CHECKING:
    from collections.abc import Iterable

    from harness.charts.source import ChartSource
    from harness.static.render import Rendered

# No chart the modules install declares an upper bound, so the newest end is a decision, not
# a fact read from the charts: 1.34, the newest version the project set out to support (issue
# 9). kubernetes-validate carries schemas up to 1.37; moving this is a one-line change once the
# real-chart tests (tests/test_manifest_schemas.py) pass there.
NEWEST = "1.34"
OPTION = "--kube-versions"
_VERSION = re.compile(r"^v?1\.(\d+)(\.\d+)?$")


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def default_kube_versions(constraints: Iterable[str]) -> tuple[str, str]:
    """The oldest and newest `1.N` that every `kubeVersion` constraint allows, within the
    versions schemas exist for and no newer than NEWEST. A constraint that cannot be read is
    ignored here (the kube-version check reports it); when no version satisfies them all, the
    full default range is returned and that check says which chart excludes what.
    """
    known = [v for v in schema_versions() if _key(v) <= _key(NEWEST)]
    parsed = []
    for text in constraints:
        try:
            constraint = KubeConstraint(text)
            constraint.allows(NEWEST)
        except InvalidConstraintError:
            continue
        parsed.append(constraint)
    allowed = [v for v in known if all(c.allows(v) for c in parsed)]
    if not allowed:
        return known[0], known[-1]
    return allowed[0], allowed[-1]


def scenario_kube_versions(rendered: Rendered, source: ChartSource) -> tuple[str, str]:
    """`default_kube_versions` of the `kubeVersion` of each chart the scenario installs (charts
    not at hand are left out: their releases are skipped anyway).
    """
    constraints = []
    for release in rendered.releases:
        try:
            meta = chart_meta(source.locate(release.chart, release.version, release.repository))
        except (ChartUnavailableError, OSError, ValueError):
            continue
        if meta.get("kubeVersion"):
            constraints.append(str(meta["kubeVersion"]))
    return default_kube_versions(constraints)


def parse_kube_versions(text: str) -> tuple[str, ...]:
    """The versions of a `--kube-versions` setting, oldest first, as `major.minor`.

    >>> parse_kube_versions("1.34, v1.28.3")
    ('1.28', '1.34')

    Raises:
        BadInputError: empty, not a version, or a version no schemas exist for.

    """
    have = schema_versions()
    valid = f"give comma-separated versions from {have[0]} to {have[-1]}, e.g. 1.28,{NEWEST}"
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise BadInputError(f"{OPTION}: no version given; {valid}")
    versions = set()
    for item in items:
        if not _VERSION.match(item):
            raise BadInputError(f"{OPTION}: {item!r} is not a Kubernetes version; {valid}")
        version = minor_of(item)
        if version not in have:
            raise BadInputError(f"{OPTION}: no Kubernetes schema for {version} here; {valid}")
        versions.add(version)
    return tuple(sorted(versions, key=_key))
