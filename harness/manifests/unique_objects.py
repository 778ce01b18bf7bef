"""`static.wiring.unique-objects`: no two releases, nor a release and the modules' own objects,
render an object of the same kind, namespace and name (kind and name for a cluster-scoped
kind): the second `helm install` would fail, or one release would overwrite another's object.
Nor does a release render an object a module declares user-provided: helm would refuse to
take over the user's object, or the user could not create it.

One check for the whole scenario: it is about releases meeting each other, so it belongs to
no single tool; its tool is `static`, as the other cross-tool static checks
(`static.pull-secrets`, `static.no-clear-credentials`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.manifests.inventory import index, owner_of
from harness.report.model import CheckResult

if TYPE_CHECKING:
    from harness.manifests.context import ManifestContext

CHECK_ID = "static.wiring.unique-objects"


def checks(ctx: ManifestContext) -> list[CheckResult]:
    """One result for the scenario."""
    unrendered = [r.label for r in ctx.manifests.releases if r.error or r.skipped]
    objects = index(ctx.manifests)
    problems = []
    for (kind, namespace, name), owners in sorted(objects.items()):
        if len(owners) > 1:
            where = f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"
            problems.append(f"{where} is rendered by "
                            f"{', '.join(owner_of(release) for release, _ in owners)}")
    for provided in ctx.rendered.user_provided:
        owners = objects.get((provided.kind, provided.namespace, provided.name), [])
        if owners:
            problems.append(
                f"{provided.kind} {provided.namespace}/{provided.name}, which the "
                f"{provided.module} module declares user-provided, is also rendered by "
                f"{', '.join(owner_of(release) for release, _ in owners)}")
    partial = f" (not judged: {', '.join(unrendered)} not rendered)" if unrendered else ""
    if problems:
        return [CheckResult(id=CHECK_ID, tool="static", status="fail",
                            message="; ".join(problems) + partial)]
    return [CheckResult(id=CHECK_ID, tool="static", status="pass",
                        message=f"{len(objects)} objects, each rendered once{partial}")]
