"""Objects validated strictly against the Kubernetes OpenAPI schema of a version, with
kubernetes-validate's data (its `-strict` definitions: unknown fields are errors).

`kubernetes_validate.validate()` re-reads and re-parses the schema files on every call (~40 ms
an object); here each version's definitions are read once and one validator is kept per
version and kind, which makes a scenario's objects a matter of milliseconds.

Public API:
    schema_problems(obj, kube_version) -> list[(field path, error)]   [] when valid
    field_problems(validator, obj) -> list[(field path, error)]      for any jsonschema validator
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from harness.manifests.kube_api import all_kinds, definitions_of

if TYPE_CHECKING:
    from collections.abc import Iterable

    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

_DEFINITIONS_URI = "https://kubernetes.io/api/_definitions.json"
_MAX_PROBLEMS = 5  # per object: enough to act on, short enough to read
_MAX_ERROR = 200  # characters of one error: jsonschema quotes whole values


def schema_problems(obj: dict[str, Any], kube_version: str) -> list[tuple[str, str]]:
    """Where and why `obj` breaks the schema of its apiVersion and kind in `kube_version`.

    Raises:
        KeyError: the version defines no such apiVersion and kind (see `all_kinds`).

    """
    validator = _validator(kube_version, str(obj.get("apiVersion")), str(obj.get("kind")))
    return field_problems(validator, obj)


def field_problems(validator: Validator, obj: dict[str, Any]) -> list[tuple[str, str]]:
    """`(field path, error)` of each way `obj` breaks the validator's schema, first few only."""
    problems: list[tuple[str, str]] = []
    for error in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.path))):
        problems += [(path, text if len(text) <= _MAX_ERROR else f"{text[:_MAX_ERROR]}...")
                     for path, text in _describe(error)]
        if len(problems) >= _MAX_PROBLEMS:
            break
    return problems[:_MAX_PROBLEMS]


def field_path(parts: Iterable[str | int]) -> str:
    """`spec.containers[0].name` of `["spec", "containers", 0, "name"]`."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(the object)"


def _describe(error: ValidationError) -> list[tuple[str, str]]:
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        # Name each unknown field at its own path rather than quoting jsonschema's sentence.
        known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        return [(field_path([*path, key]), "unknown field")
                for key in error.instance if key not in known]
    if error.context:
        # anyOf/oneOf: the branch that got furthest says the most.
        best = max(error.context, key=lambda e: len(e.absolute_path))
        return [(field_path(path), f"{error.message} ({best.message})")]
    return [(field_path(path), error.message)]


@cache
def _registry(kube_version: str) -> Registry:
    document = {"$id": _DEFINITIONS_URI, "$defs": definitions_of(kube_version, strict=True)}
    resource: Resource[Any] = Resource.from_contents(document, default_specification=DRAFT202012)
    return resource @ Registry()


@cache
def _definition_names(kube_version: str) -> dict[tuple[str, str], str]:
    served = all_kinds(kube_version)
    names: dict[tuple[str, str], str] = {}
    for name, schema in definitions_of(kube_version).items():
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            gv = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
            if (gv, gvk["kind"]) in served:
                names.setdefault((gv, gvk["kind"]), name)
    return names


@cache
def _validator(kube_version: str, api_version: str, kind: str) -> Validator:
    name = _definition_names(kube_version)[(api_version, kind)]
    schema = {"$ref": f"{_DEFINITIONS_URI}#/$defs/{name}"}
    return Draft202012Validator(schema, registry=_registry(kube_version))
