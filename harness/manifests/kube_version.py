"""`<module>.manifests.kube-version.<release>`: the chart's own `kubeVersion` constraint (its
Chart.yaml) allows every Kubernetes version under test.

`helm template --kube-version` refuses a chart whose constraint excludes the version; the
render check then points here rather than failing a second time for the same cause.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.charts.kube_constraint import InvalidConstraintError, KubeConstraint
from harness.charts.package import chart_meta
from harness.charts.source import ChartUnavailableError
from harness.report.model import CheckResult

if TYPE_CHECKING:
    from harness.manifests.context import ManifestContext
    from harness.static.render import Release

# How helm says that a chart's kubeVersion excludes the version it renders for.
HELM_REFUSAL = "chart requires kubeVersion"


def check_id(module: str, release: str) -> str:
    """The id of the check for one release."""
    return f"{module}.manifests.kube-version.{release}"


def checks(ctx: ManifestContext) -> list[CheckResult]:
    """One result per release: pass (or no constraint), fail naming chart, constraint, version."""
    return [_result(ctx, release) for release in ctx.rendered.releases]


def _result(ctx: ManifestContext, release: Release) -> CheckResult:
    ident = check_id(release.module, release.name)
    chart = f"{release.module}/{release.name} ({release.chart} {release.version})"
    try:
        meta = chart_meta(ctx.source.locate(release.chart, release.version, release.repository))
    except ChartUnavailableError as exc:
        return CheckResult(id=ident, tool=release.module, status="skip", message=str(exc))
    except (OSError, ValueError) as exc:
        return CheckResult(id=ident, tool=release.module, status="fail",
                           message=f"{chart}: the chart package cannot be read: {exc}")
    text = str(meta.get("kubeVersion") or "")
    versions = ", ".join(ctx.kube_versions)
    if not text:
        return CheckResult(id=ident, tool=release.module, status="pass",
                           message=f"{chart}: declares no kubeVersion (tested: {versions})")
    try:
        constraint = KubeConstraint(text)
        excluded = [v for v in ctx.kube_versions if not constraint.allows(v)]
    except InvalidConstraintError as exc:
        return CheckResult(id=ident, tool=release.module, status="fail",
                           message=f"{chart}: {exc}; helm refuses to render it for any version")
    if excluded:
        return CheckResult(
            id=ident, tool=release.module, status="fail",
            message=f"{chart}: its kubeVersion {text!r} excludes Kubernetes "
                    f"{', '.join(excluded)} (under test: {versions}); pick a chart version "
                    f"that supports it, or test other versions with --kube-versions")
    return CheckResult(id=ident, tool=release.module, status="pass",
                       message=f"{chart}: kubeVersion {text!r} allows Kubernetes {versions}")
