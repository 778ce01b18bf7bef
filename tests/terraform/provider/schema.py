"""The committed provider schemas, as Python data and as the plugin protocol's messages."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from tf.gen import tfplugin_pb2 as pb

SCHEMAS = Path(__file__).parent / "schemas"
# provider name -> (registry address, version served)
PROVIDERS = {
    "helm": ("registry.terraform.io/hashicorp/helm", "3.1.1"),
    "kubernetes": ("registry.terraform.io/hashicorp/kubernetes", "2.38.0"),
}
_BLOCK_NESTING = {
    "single": pb.Schema.NestedBlock.SINGLE,
    "list": pb.Schema.NestedBlock.LIST,
    "set": pb.Schema.NestedBlock.SET,
    "map": pb.Schema.NestedBlock.MAP,
    "group": pb.Schema.NestedBlock.GROUP,
}
_OBJECT_NESTING = {
    "single": pb.Schema.Object.SINGLE,
    "list": pb.Schema.Object.LIST,
    "set": pb.Schema.Object.SET,
    "map": pb.Schema.Object.MAP,
}


@cache
def load(provider: str) -> dict[str, Any]:
    """One provider's schemas in `terraform providers schema -json` form."""
    address, _ = PROVIDERS[provider]
    doc = json.loads((SCHEMAS / f"{provider}.json").read_text())
    return dict(doc["provider_schemas"][address])


def _attribute(name: str, spec: dict[str, Any]) -> pb.Schema.Attribute:
    common = {k: bool(spec.get(k)) for k in ("required", "optional", "computed", "sensitive")}
    if "nested_type" in spec:
        nested = spec["nested_type"]
        obj = pb.Schema.Object(
            attributes=[_attribute(n, s) for n, s in sorted(nested["attributes"].items())],
            nesting=_OBJECT_NESTING[nested["nesting_mode"]],
        )
        attribute = pb.Schema.Attribute(name=name, nested_type=obj, **common)
    else:
        type_json = json.dumps(spec["type"], separators=(",", ":")).encode()
        attribute = pb.Schema.Attribute(name=name, type=type_json, **common)
    return _write_only(attribute) if spec.get("write_only") else attribute


def _write_only(attribute: pb.Schema.Attribute) -> pb.Schema.Attribute:
    # tf 1.2.0's protocol files predate `bool write_only = 11;` (tfplugin6.8): add the field
    # as raw wire bytes (tag 11, varint 1), which protobuf keeps and sends on.
    return pb.Schema.Attribute.FromString(attribute.SerializeToString() + b"\x58\x01")


def block_pb(block: dict[str, Any]) -> pb.Schema.Block:
    """A schema block as the protocol message Terraform reads."""
    return pb.Schema.Block(
        attributes=[_attribute(n, s) for n, s in sorted(block.get("attributes", {}).items())],
        block_types=[
            pb.Schema.NestedBlock(
                type_name=name,
                block=block_pb(bt["block"]),
                nesting=_BLOCK_NESTING[bt["nesting_mode"]],
                min_items=bt.get("min_items", 0),
                max_items=bt.get("max_items", 0),
            )
            for name, bt in sorted(block.get("block_types", {}).items())
        ],
    )


def schema_pb(entry: dict[str, Any]) -> pb.Schema:
    """A resource, data source or provider schema as a protocol message."""
    return pb.Schema(version=entry.get("version", 0), block=block_pb(entry["block"]))


def write_only_names(block: dict[str, Any]) -> list[str]:
    """The block's write-only attributes: always null in plans and state."""
    return [n for n, spec in block.get("attributes", {}).items() if spec.get("write_only")]


def attribute_type(spec: dict[str, Any]) -> Any:
    """The cty type of an attribute, turning a nested attribute into its object type."""
    if "nested_type" not in spec:
        return spec["type"]
    nested = spec["nested_type"]
    obj = ["object", {n: attribute_type(s) for n, s in nested["attributes"].items()}]
    return obj if nested["nesting_mode"] == "single" else [nested["nesting_mode"], obj]
