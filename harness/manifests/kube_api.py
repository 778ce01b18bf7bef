"""What a Kubernetes version serves, read from the OpenAPI schemas `kubernetes-validate` ships
(1.25 onwards): the API group/versions and kinds, as `helm template --api-versions` takes them.

Public API:
    api_versions(kube_version) -> tuple[str, ...]   e.g. ("apps/v1", "apps/v1/Deployment", ...)
    served_kinds(kube_version) -> frozenset[(apiVersion, kind)]   alpha group/versions left out
    all_kinds(kube_version) -> frozenset[(apiVersion, kind)]      alpha ones too
    definitions_of(kube_version, strict=False) -> {name: OpenAPI definition}
    schema_versions() -> list[str]                  the versions schemas exist for, e.g. "1.28"
    minor_of(kube_version), full_version(kube_version)   "1.28" and "1.28.0" of a version
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


def _schema_dir(kube_version: str) -> str:
    return f"v{minor_of(kube_version)}.0-local"


def minor_of(kube_version: str) -> str:
    """`1.28` of `1.28.3`, `v1.28` or `1.28`."""
    parts = kube_version.lstrip("v").split(".")
    return ".".join(parts[:2])


def full_version(kube_version: str) -> str:
    """`1.28.0` of `1.28`; a version with its patch as it is (helm wants all three)."""
    return kube_version if kube_version.count(".") >= 2 else f"{kube_version}.0"


@cache
def schema_versions() -> list[str]:
    """The `major.minor` versions kubernetes-validate has schemas for, oldest first."""
    root = resources.files("kubernetes_validate") / "kubernetes-json-schema"
    found = {minor_of(p.name.split("-")[0]) for p in root.iterdir() if p.name.endswith("-local")}
    return sorted(found, key=lambda v: tuple(int(x) for x in v.split(".")))


@cache
def served_kinds(kube_version: str) -> frozenset[tuple[str, str]]:
    """`(apiVersion, kind)` of every resource a cluster of that version serves by default.

    Alpha group/versions (`*/v1alpha1`) are left out: the schemas list them, but an API server
    serves them only when a feature gate and `--runtime-config` turn them on, so a chart must
    not get them through `--api-versions` nor be judged valid for using them.

    Raises:
        FileNotFoundError: no schemas for that version (see `schema_versions()`).

    """
    return frozenset((gv, kind) for gv, kind in all_kinds(kube_version)
                     if "alpha" not in gv.rsplit("/", 1)[-1])


@cache
def all_kinds(kube_version: str) -> frozenset[tuple[str, str]]:
    """`(apiVersion, kind)` of every resource the version's schemas define, alpha ones too.

    Raises:
        FileNotFoundError: no schemas for that version (see `schema_versions()`).

    """
    definitions = definitions_of(kube_version)
    kinds: set[tuple[str, str]] = set()
    for schema in definitions.values():
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            group_version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
            kinds.add((group_version, gvk["kind"]))
    # A resource has a List kind; options and events (DeleteOptions, WatchEvent) have none.
    return frozenset((gv, kind) for gv, kind in kinds if (gv, f"{kind}List") in kinds)


@cache
def definitions_of(kube_version: str, *, strict: bool = False) -> dict[str, Any]:
    """The version's OpenAPI definitions (`$defs` of `_definitions.json`), by name; `strict`:
    the variant where every object rejects unknown fields.

    Raises:
        FileNotFoundError: no schemas for that version (see `schema_versions()`).

    """
    folder = _schema_dir(kube_version) + ("-strict" if strict else "")
    path = (resources.files("kubernetes_validate") / "kubernetes-json-schema" / folder
            / "_definitions.json")
    definitions: dict[str, Any] = json.loads(path.read_text())["$defs"]
    return definitions


def api_versions(kube_version: str) -> tuple[str, ...]:
    """`group/version` and `group/version/Kind` of everything served, sorted."""
    kinds = served_kinds(kube_version)
    return tuple(sorted({gv for gv, _ in kinds} | {f"{gv}/{kind}" for gv, kind in kinds}))
