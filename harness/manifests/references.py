"""`<module>.wiring.references.<release>`: every Secret, ConfigMap and PersistentVolumeClaim a
pod template of the release references exists in the rendered manifests of the pod's
namespace (any release's, or the modules' own objects), or is one the module declares
user-provided (its `values/` output `user_provided`, with how to create it).

References: volumes (`secret`, `configMap`, `persistentVolumeClaim`, `projected` sources),
`env[].valueFrom` (`secretKeyRef`, `configMapKeyRef`), `envFrom`, `imagePullSecrets`. One
marked `optional: true` may be absent. A StatefulSet's `volumeClaimTemplates` create the PVCs
`<template>-<statefulset>-<ordinal>`. A `secretKeyRef` or `configMapKeyRef` into a rendered
object must name a key it has.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.manifests.inventory import index, pod_templates, variables_naming
from harness.report.model import CheckResult

if TYPE_CHECKING:
    from collections.abc import Iterator

    from harness.manifests.context import ManifestContext
    from harness.manifests.inventory import Key, PodTemplate

# (kind, field path, name, optional, key or "") of one reference.
Reference = tuple[str, str, str, bool, str]

_VOLUME_SOURCES = {
    "secret": ("Secret", "secretName"),
    "configMap": ("ConfigMap", "name"),
    "persistentVolumeClaim": ("PersistentVolumeClaim", "claimName"),
}
_KEY_REFS = {"secretKeyRef": "Secret", "configMapKeyRef": "ConfigMap"}
_FROM_REFS = {"secretRef": "Secret", "configMapRef": "ConfigMap"}


def checks(ctx: ManifestContext) -> list[CheckResult]:
    """One result per rendered release."""
    objects = index(ctx.manifests)
    present = set(objects) | _claims_of_statefulsets(ctx)
    declared = {(u.kind, u.namespace, u.name) for u in ctx.rendered.user_provided}
    templates = pod_templates(ctx.manifests)
    results = []
    for release in ctx.manifests.releases:
        ident = f"{release.module}.wiring.references.{release.name}"
        if release.error or release.skipped:
            results.append(CheckResult(id=ident, tool=release.module, status="skip",
                                       message=f"not judged: {release.label} not rendered"))
            continue
        problems: list[str] = []
        count = 0
        for template in (t for t in templates if t.release is release):
            found = list(references(template))
            count += len(found)
            problems += _unresolved(ctx, template, found, objects, present | declared)
        if problems:
            results.append(CheckResult(id=ident, tool=release.module, status="fail",
                                       message=f"{release.label}: " + "; ".join(problems)))
        else:
            results.append(CheckResult(
                id=ident, tool=release.module, status="pass",
                message=f"{release.label}: {count} Secret/ConfigMap/PVC reference(s) of its pods "
                        "resolve"))
    return results


def _unresolved(ctx: ManifestContext, template: PodTemplate, found: list[Reference],
                objects: dict[Key, list[Any]], resolvable: set[Key]) -> list[str]:
    problems = []
    for kind, path, name, optional, data_key in found:
        key = (kind, template.namespace, name)
        where = f"{template.ref} {path}: {kind} {template.namespace}/{name}"
        if optional:
            continue
        if key in objects and data_key and data_key not in _keys(objects[key][0][1]):
            problems.append(f"{where} has no key {data_key!r} "
                            f"(has {_keys(objects[key][0][1])})")
        elif key not in resolvable:
            responsible = variables_naming(ctx.tfvars, name)
            by = (f"named by {', '.join(f'`{v}`' for v in responsible)}" if responsible
                  else "named by the chart")
            problems.append(f"{where} is neither rendered nor declared user-provided ({by})")
    return problems


def references(template: PodTemplate) -> Iterator[Reference]:
    """Every Secret, ConfigMap and PVC the pod template names, with its field path."""
    spec, base = template.spec, template.path
    for position, volume in enumerate(spec.get("volumes") or []):
        yield from _volume_refs(volume, f"{base}.volumes[{position}]")
    for position, secret in enumerate(spec.get("imagePullSecrets") or []):
        if isinstance(secret, dict) and secret.get("name"):
            yield "Secret", f"{base}.imagePullSecrets[{position}].name", secret["name"], False, ""
    for path, container in template.containers():
        for position, env in enumerate(container.get("env") or []):
            source = (env or {}).get("valueFrom") or {}
            for key, kind in _KEY_REFS.items():
                if isinstance(source.get(key), dict):
                    yield _named(kind, f"{path}.env[{position}].valueFrom.{key}", source[key],
                                 str(source[key].get("key", "")))
        for position, env_from in enumerate(container.get("envFrom") or []):
            for key, kind in _FROM_REFS.items():
                if isinstance((env_from or {}).get(key), dict):
                    yield _named(kind, f"{path}.envFrom[{position}].{key}", env_from[key])


def _volume_refs(volume: dict[str, Any], path: str) -> Iterator[Reference]:
    for key, (kind, name_key) in _VOLUME_SOURCES.items():
        source = volume.get(key)
        if isinstance(source, dict):
            yield (kind, f"{path}.{key}.{name_key}", str(source.get(name_key, "")),
                   bool(source.get("optional")), "")
    projected = volume.get("projected")
    for position, source in enumerate((projected or {}).get("sources") or []):
        for key, kind in (("secret", "Secret"), ("configMap", "ConfigMap")):
            if isinstance((source or {}).get(key), dict):
                yield _named(kind, f"{path}.projected.sources[{position}].{key}", source[key])


def _named(kind: str, path: str, source: dict[str, Any], data_key: str = "") -> Reference:
    return (kind, f"{path}.name", str(source.get("name", "")), bool(source.get("optional")),
            data_key)


def _keys(obj: dict[str, Any]) -> list[str]:
    # Secrets keep data and stringData; ConfigMaps data and binaryData.
    found: set[str] = set()
    for field in ("data", "stringData", "binaryData"):
        found |= set(obj.get(field) or {})
    return sorted(found)


def _claims_of_statefulsets(ctx: ManifestContext) -> set[Key]:
    claims: set[Key] = set()
    for template in pod_templates(ctx.manifests):
        if template.obj.get("kind") != "StatefulSet":
            continue
        spec = template.obj.get("spec") or {}
        name = (template.obj.get("metadata") or {}).get("name", "")
        replicas = spec.get("replicas")
        count = replicas if isinstance(replicas, int) and replicas > 0 else 1
        for claim in spec.get("volumeClaimTemplates") or []:
            claim_name = (claim.get("metadata") or {}).get("name", "")
            claims |= {("PersistentVolumeClaim", template.namespace,
                        f"{claim_name}-{name}-{ordinal}") for ordinal in range(count)}
    return claims
