"""`<module>.manifests.custom-resources.<release>`: every custom resource a release renders is
valid against the CustomResourceDefinition some release of the scenario installs (its served
version's `openAPIV3Schema`, strictly: see crd_schema.py); a custom resource whose CRD no
release installs fails.

`<module>.manifests.custom-resources.harness`: the same for the custom resources the harness
itself creates on a cluster for a module's checks: today the SeldonDeployment that serves the
checks' MLflow model (seldon_deployment.py), when the scenario installs `seldon`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.manifests.crd_schema import crd_validator
from harness.manifests.kube_schema import field_problems
from harness.manifests.model import ref
from harness.manifests.schemas import is_builtin, mask
from harness.manifests.seldon_deployment import harness_deployment
from harness.report.model import CheckResult

if TYPE_CHECKING:
    from collections.abc import Iterable

    from harness.manifests.context import ManifestContext
    from harness.manifests.model import Manifests

# Where the local target keeps MLflow's artifacts when they are files: a claim of this name.
_FILE_STORE = "pvc://mlflow-artifacts"


def checks(ctx: ManifestContext) -> list[CheckResult]:
    """One result per release that renders custom resources, and one per module the harness
    creates custom resources for.
    """
    results = []
    # A CRD may come from a release that could not be rendered: then a missing one proves nothing.
    unrendered = [r.label for r in ctx.manifests.releases if r.error or r.skipped]
    for release in ctx.manifests.releases:
        found: dict[str, list[str]] = {}
        count = 0
        for version in ctx.kube_versions:
            manifests = ctx.by_version[version]
            rendered = manifests.release(release.module, release.name)
            if rendered is None or rendered.error:
                continue
            custom = [o for o in rendered.objects if not is_builtin(str(o.get("apiVersion")))]
            count = max(count, len(custom))
            _collect(found, problems_of(custom, manifests), version)
        if count and unrendered and found \
                and all("no CustomResourceDefinition" in p for p in found):
            results.append(CheckResult(
                id=f"{release.module}.manifests.custom-resources.{release.name}",
                tool=release.module, status="skip",
                message=f"{release.label}: not judged: {', '.join(unrendered)} not rendered"))
        elif count:
            results.append(_result(f"{release.module}.manifests.custom-resources.{release.name}",
                                   release.module, release.label, count, found))
    for module, objects in harness_resources(ctx).items():
        if unrendered:
            results.append(CheckResult(
                id=f"{module}.manifests.custom-resources.harness", tool=module, status="skip",
                message=f"{module}: the harness's own {_kinds(objects)} not judged: "
                        f"{', '.join(unrendered)} not rendered"))
            continue
        found = {}
        for version in ctx.kube_versions:
            _collect(found, problems_of(objects, ctx.by_version[version]), version)
        label = f"{module}: the harness's own {_kinds(objects)}"
        results.append(_result(f"{module}.manifests.custom-resources.harness", module, label,
                               len(objects), found))
    for result in results:
        result.message = mask(result.message, ctx.rendered.secret_strings)
    return results


def harness_resources(ctx: ManifestContext) -> dict[str, list[dict[str, Any]]]:
    """The custom resources the harness creates on a cluster, per module the scenario installs."""
    modules = {release.module for release in ctx.rendered.releases}
    created: dict[str, list[dict[str, Any]]] = {}
    if "seldon" in modules:
        root = str(ctx.tfvars.get("default_artifact_root") or "")
        created["seldon"] = [harness_deployment(root if "://" in root else _FILE_STORE)]
    return created


def problems_of(objects: Iterable[dict[str, Any]], manifests: Manifests) -> list[str]:
    """`Kind ns/name: field: error` of each custom resource against the CRDs installed."""
    crds = _installed_crds(manifests)
    problems = []
    for obj in objects:
        api_version, kind, what = str(obj.get("apiVersion")), str(obj.get("kind")), ref(obj)
        group, _, version = api_version.rpartition("/")
        crd = crds.get((group, kind))
        if crd is None:
            problems.append(f"{what}: no CustomResourceDefinition for {kind} in {group} is "
                            "installed by any release of the scenario")
            continue
        crd_name = crd.get("metadata", {}).get("name", "?")
        versions = {v.get("name"): v for v in crd.get("spec", {}).get("versions") or []}
        entry = versions.get(version)
        if entry is None or not entry.get("served", False):
            served = ", ".join(n for n, v in versions.items() if v.get("served")) or "nothing"
            problems.append(f"{what}: CustomResourceDefinition {crd_name} does not serve "
                            f"{version} (it serves {served})")
            continue
        schema = (entry.get("schema") or {}).get("openAPIV3Schema") \
            or (crd.get("spec", {}).get("validation") or {}).get("openAPIV3Schema")
        if schema:
            problems += [f"{what}: {path}: {error} (CustomResourceDefinition {crd_name})"
                         for path, error in field_problems(crd_validator(schema), obj)]
    return problems


def _installed_crds(manifests: Manifests) -> dict[tuple[str, str], dict[str, Any]]:
    crds = {}
    for _, obj in manifests.objects():
        if obj.get("kind") == "CustomResourceDefinition":
            spec = obj.get("spec") or {}
            crds[(spec.get("group", ""), (spec.get("names") or {}).get("kind", ""))] = obj
    return crds


def _kinds(objects: list[dict[str, Any]]) -> str:
    return ", ".join(sorted({str(o.get("kind")) for o in objects}))


def _collect(found: dict[str, list[str]], problems: list[str], version: str) -> None:
    for problem in problems:
        found.setdefault(problem, []).append(version)


def _result(ident: str, tool: str, label: str, count: int,
            found: dict[str, list[str]]) -> CheckResult:
    if found:
        lines = [f"{text} (Kubernetes {', '.join(versions)})" for text, versions in found.items()]
        return CheckResult(id=ident, tool=tool, status="fail",
                           message=f"{label}: " + "; ".join(lines))
    return CheckResult(id=ident, tool=tool, status="pass",
                       message=f"{label}: {count} custom resources valid against their "
                               "CustomResourceDefinitions")
