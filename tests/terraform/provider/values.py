"""Planning and "applying" resource values by walking their schema, as a provider would."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from msgpack import ExtType
from tf.types import Unknown

from .schema import attribute_type

# Defaults the real helm provider plans for unset optional+computed arguments (its docs).
HELM_RELEASE_DEFAULTS: dict[str, Any] = {
    **dict.fromkeys(
        (
            "atomic",
            "cleanup_on_fail",
            "create_namespace",
            "dependency_update",
            "disable_crd_hooks",
            "disable_openapi_validation",
            "disable_webhooks",
            "force_update",
            "lint",
            "pass_credentials",
            "recreate_pods",
            "replace",
            "reset_values",
            "reuse_values",
            "skip_crds",
            "take_ownership",
            "verify",
            "upgrade_install",
            "wait_for_jobs",
        ),
        False,
    ),
    "max_history": 0,
    "namespace": "default",
    "render_subchart_notes": True,
    "timeout": 300,
    "wait": True,
    "set.type": "",
}
DEFAULTS = {"helm_release": HELM_RELEASE_DEFAULTS}


def is_unknown(value: Any) -> bool:
    """Unknown, including Terraform's refined unknowns (another msgpack extension type)."""
    return value is Unknown or isinstance(value, ExtType)


def _elements(value: Any, nesting: str) -> list[Any]:
    if value is None or is_unknown(value):
        return []
    if nesting == "single":
        return [value]
    return list(value.values()) if nesting == "map" else list(value)


def plan(
    block: dict[str, Any], value: dict[str, Any], defaults: dict[str, Any], path: str = ""
) -> None:
    """Mark computed attributes that nobody set as unknown (or their default), in place."""
    for name, spec in block.get("attributes", {}).items():
        key = f"{path}{name}"
        if spec.get("computed") and value.get(name) is None:
            value[name] = defaults.get(key, Unknown)
        elif "nested_type" in spec:
            nested = spec["nested_type"]
            for element in _elements(value.get(name), nested["nesting_mode"]):
                plan(nested, element, defaults, f"{key}.")
    for name, bt in block.get("block_types", {}).items():
        for element in _elements(value.get(name), bt["nesting_mode"]):
            plan(bt["block"], element, defaults, f"{path}{name}.")


def fill(block: dict[str, Any], value: dict[str, Any], made: dict[str, Any]) -> None:
    """Replace every unknown with a concrete value, as the API's response would, in place."""
    for name, spec in block.get("attributes", {}).items():
        current = value.get(name)
        if is_unknown(current):
            value[name] = made[name] if name in made else _make(attribute_type(spec), name)
        elif "nested_type" in spec and current is not None:
            nested = spec["nested_type"]
            for element in _elements(current, nested["nesting_mode"]):
                fill(nested, element, {})
        elif isinstance(current, list | dict):
            value[name] = _fill_value(attribute_type(spec), current)
    for name, bt in block.get("block_types", {}).items():
        for element in _elements(value.get(name), bt["nesting_mode"]):
            fill(bt["block"], element, made.get(f"{name}.", {}))


def _fill_value(type_: Any, value: Any) -> Any:
    if is_unknown(value):
        return _make(type_, "")
    if not isinstance(type_, list):
        return value  # a primitive, or a dynamic value whose type travels with it
    kind, inner = type_
    if kind == "object" and isinstance(value, dict):
        return {k: _fill_value(inner.get(k, "dynamic"), v) for k, v in value.items()}
    if kind == "map" and isinstance(value, dict):
        return {k: _fill_value(inner, v) for k, v in value.items()}
    if kind in ("list", "set") and isinstance(value, list):
        return [_fill_value(inner, v) for v in value]
    return value


def _make(type_: Any, name: str) -> Any:
    """A plausible value of a type for an attribute the API computes."""
    if type_ == "string":
        return {"uid": str(uuid.uuid4()), "resource_version": "1", "status": "deployed"}.get(
            name, ""
        )
    if type_ == "number":
        return {"generation": 1, "revision": 1}.get(name, 0)
    if type_ == "bool":
        return False
    if type_ == "dynamic":
        return None
    kind, inner = type_
    if kind == "object":
        return {k: _make(t, k) for k, t in inner.items()}
    return {} if kind == "map" else []


def computed_by_api(type_name: str, value: dict[str, Any]) -> dict[str, Any]:
    """Values a real apply returns for this resource type, where they are not generic."""
    if type_name == "helm_release":
        now = int(time.time())
        return {
            "id": value.get("name"),
            "manifest": None,  # only rendered with the provider's `experiments.manifest`
            "metadata": {
                "app_version": "",
                "chart": value.get("chart"),
                "first_deployed": now,
                "last_deployed": now,
                "name": value.get("name"),
                "namespace": value.get("namespace"),
                "notes": "",
                "revision": 1,
                "values": json.dumps(merged_values(value.get("values"))),
                "version": value.get("version") if not is_unknown(value.get("version")) else "",
            },
        }
    meta = (value.get("metadata") or [{}])[0] if isinstance(value.get("metadata"), list) else {}
    made: dict[str, Any] = {}
    if type_name == "kubernetes_manifest":
        made["object"] = value.get("manifest")
    if meta:
        name = meta.get("name")
        if is_unknown(name) or name is None:
            name = f"{meta.get('generate_name') or ''}{uuid.uuid4().hex[:5]}"
            made["metadata."] = {"name": name}
        namespace = meta.get("namespace")
        made["id"] = f"{namespace}/{name}" if isinstance(namespace, str) and namespace else name
    return made


def merged_values(documents: list[str] | None) -> dict[str, Any]:
    """The values a chart would receive from the `values` documents, later ones winning."""
    import yaml  # only helm applies need it, and providers start often

    merged: dict[str, Any] = {}
    for doc in documents or []:
        loaded = yaml.safe_load(doc) if isinstance(doc, str) else None
        if isinstance(loaded, dict):
            _deep_merge(merged, loaded)
    return merged


def _deep_merge(into: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value


def to_json(value: Any) -> Any:
    """A value as plain JSON: dynamic values ([type, value] pairs) unwrapped, unknowns null."""
    if is_unknown(value):
        return None
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        if len(value) == 2 and isinstance(value[0], bytes):  # cty's encoding of a dynamic value
            return to_json(value[1])
        return [to_json(v) for v in value]
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value
