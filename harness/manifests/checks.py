"""The manifest checks of the static stage: render the scenario's releases with their charts for
each Kubernetes version under test, then run every family of checks on them.

Public API:
    build_context(scenario, tfvars, rendered, *, source, kube_versions) -> ManifestContext
    manifest_checks(ctx) -> (list[CheckResult], list[str] findings)
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from harness.manifests.context import ManifestContext
from harness.manifests.render import render_manifests

if TYPE_CHECKING:
    from harness.charts.source import ChartSource
    from harness.report.model import CheckResult
    from harness.static.render import Rendered

# One module per family of checks, each with `checks(ctx)` and optionally `findings(ctx)`.
FAMILIES = (
    "harness.manifests.rendering",
    "harness.manifests.kube_version",
    "harness.manifests.schemas",
    "harness.manifests.crds",
    "harness.manifests.endpoints",
    "harness.manifests.references",
    "harness.manifests.images",
    "harness.manifests.secret_values",
    "harness.manifests.unique_objects",
    "harness.manifests.findings",
)


def build_context(scenario: str, tfvars: dict[str, Any], rendered: Rendered, *,
                  source: ChartSource, kube_versions: tuple[str, ...]) -> ManifestContext:
    """Render the scenario's manifests for each version in `kube_versions` (oldest first).

    Secrets are replaced by their names first: what is rendered, cached and written holds none.
    """
    rendered = rendered.with_placeholders()
    by_version = {v: render_manifests(rendered, source=source, kube_version=f"{v}.0")
                  for v in kube_versions}
    return ManifestContext(scenario, tfvars, rendered, source, kube_versions, by_version,
                           dict(rendered.endpoints))


def manifest_checks(ctx: ManifestContext) -> tuple[list[CheckResult], list[str]]:
    """Every family's check results and findings, in FAMILIES order."""
    results: list[CheckResult] = []
    findings: list[str] = []
    for name in FAMILIES:
        family = import_module(name)
        results += family.checks(ctx)
        if hasattr(family, "findings"):
            findings += family.findings(ctx)
    return results, findings
