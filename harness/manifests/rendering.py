"""`<module>.manifests.render.<release>`: the chart renders the module's values at all, for each
Kubernetes version under test; skipped, with the fix, when the chart is not at hand.

When helm refuses only because the chart's `kubeVersion` excludes a version, that is said once,
by `<module>.manifests.kube-version.<release>`: this check points there instead of failing too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.manifests.kube_version import HELM_REFUSAL, check_id
from harness.report.model import CheckResult

if TYPE_CHECKING:
    from harness.manifests.context import ManifestContext


def checks(ctx: ManifestContext) -> list[CheckResult]:
    """One result per release: pass with the object count, fail with helm's error."""
    results = []
    for release in ctx.manifests.releases:
        ident = f"{release.module}.manifests.render.{release.name}"
        if release.skipped:
            results.append(CheckResult(id=ident, tool=release.module, status="skip",
                                       message=release.error))
            continue
        rendered, failed, excluded = {}, [], []
        for version in ctx.kube_versions:
            found = ctx.by_version[version].release(release.module, release.name)
            if found is None:
                continue
            if not found.error:
                rendered[version] = len(found.objects)
            elif found.error.startswith(HELM_REFUSAL):
                excluded.append(version)
            else:
                failed.append(f"Kubernetes {version}: {found.error}")
        refusal = (f"not rendered for Kubernetes {', '.join(excluded)}: the chart's kubeVersion "
                   f"excludes it (see {check_id(release.module, release.name)})")
        if failed:
            message = f"{release.label}: helm template failed: {'; '.join(failed)}"
            if excluded:
                message += f"; {refusal}"
            results.append(CheckResult(id=ident, tool=release.module, status="fail",
                                       message=message))
        elif not rendered:
            results.append(CheckResult(id=ident, tool=release.module, status="skip",
                                       message=f"{release.label}: {refusal}"))
        else:
            count = max(rendered.values())
            message = (f"{release.label}: {count} objects rendered for Kubernetes "
                       f"{', '.join(rendered)}")
            if excluded:
                message += f"; {refusal}"
            results.append(CheckResult(id=ident, tool=release.module, status="pass",
                                       message=message))
    return results
