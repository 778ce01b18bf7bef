"""A CustomResourceDefinition's `openAPIV3Schema` as a strict JSON Schema validator.

The API server prunes fields a structural schema does not declare (or, with strict field
validation, rejects them); either way a field the CRD does not know never reaches the operator.
So every object schema that declares `properties` is closed here (`additionalProperties: false`)
unless it says `x-kubernetes-preserve-unknown-fields`; `nullable` and
`x-kubernetes-int-or-string` are spelt out in JSON Schema; `apiVersion`, `kind` and `metadata`
are allowed where Kubernetes always allows them (the root and embedded resources).

Public API:
    crd_validator(schema) -> jsonschema validator (cached by the schema's content)
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from jsonschema import Draft4Validator

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

_CACHE: dict[str, Validator] = {}
_OBJECT_FIELDS = {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                  "metadata": {"type": "object"}}


def crd_validator(schema: dict[str, Any]) -> Validator:
    """A validator of custom resources against a CRD version's `openAPIV3Schema`.

    OpenAPI 3.0 schemas follow JSON Schema draft 4 (boolean `exclusiveMinimum`).
    """
    digest = hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()
    if digest not in _CACHE:
        _CACHE[digest] = Draft4Validator(_strict(schema, resource=True))
    return _CACHE[digest]


def _strict(schema: dict[str, Any], *, resource: bool = False) -> dict[str, Any]:
    out = dict(schema)
    if out.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if out.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    properties = {key: _strict(value) for key, value in out.get("properties", {}).items()}
    if resource or out.get("x-kubernetes-embedded-resource"):
        properties = {**_OBJECT_FIELDS, **properties}
    if properties:
        out["properties"] = properties
    if isinstance(out.get("items"), dict):
        out["items"] = _strict(out["items"])
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = _strict(out["additionalProperties"])
    for key in ("allOf", "anyOf", "oneOf"):
        if isinstance(out.get(key), list):
            out[key] = [_strict(branch) for branch in out[key]]
    if isinstance(out.get("not"), dict):
        out["not"] = _strict(out["not"])
    if ("properties" in schema and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out
