"""`<module>.manifests.render.<release>`: the chart renders the module's values at all, for each
Kubernetes version under test; skipped, with the fix, when the chart is not at hand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.report.model import CheckResult

if TYPE_CHECKING:
    from harness.manifests.context import ManifestContext


def checks(ctx: ManifestContext) -> list[CheckResult]:
    """One result per release: pass with the object count, fail with helm's error."""
    results = []
    for release in ctx.manifests.releases:
        ident = f"{release.module}.manifests.render.{release.name}"
        failed = [(v, r) for v in ctx.kube_versions
                  if (r := ctx.by_version[v].release(release.module, release.name)) and r.error]
        if release.skipped:
            results.append(CheckResult(id=ident, tool=release.module, status="skip",
                                       message=release.error))
        elif failed:
            message = "; ".join(f"Kubernetes {v}: {r.error}" for v, r in failed)
            results.append(CheckResult(id=ident, tool=release.module, status="fail",
                                       message=f"{release.label}: helm template failed: {message}"))
        else:
            results.append(CheckResult(
                id=ident, tool=release.module, status="pass",
                message=f"{release.label}: {len(release.objects)} objects rendered for "
                        f"Kubernetes {', '.join(ctx.kube_versions)}"))
    return results
