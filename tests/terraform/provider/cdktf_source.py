"""Reconstruct Terraform provider schemas from a cdktf provider package (.jsii + its TypeScript)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# cdktf writes, above every attribute of a generated class, the flags of the provider's schema.
_FLAGS = re.compile(
    r"// (\w+) - computed: (true|false), optional: (true|false), required: (true|false)\n"
)
_CLASS = re.compile(r"^export class (\w+) extends ([\w.]+) \{\n(.*?)^\}", re.S | re.M)
_GETTER = re.compile(r"return ([\w.(]*?)this\.(get\w+Attribute)\('(\w+)'\)")
_NEW = re.compile(r"= new ([\w.]+)\(this, \"(\w+)\"(?:, (true|false))?\)")
_SCALARS = {
    "getStringAttribute": "string",
    "getNumberAttribute": "number",
    "getBooleanAttribute": "bool",
    "getListAttribute": ["list", "string"],
    "getNumberListAttribute": ["list", "number"],
    "getStringMapAttribute": ["map", "string"],
    "getNumberMapAttribute": ["map", "number"],
    "getBooleanMapAttribute": ["map", "bool"],
    "getAnyMapAttribute": "dynamic",  # cdktf renders DynamicPseudoType as an any-map
}
_CDKTF_COLLECTIONS = {
    "cdktf.StringMap": ["map", "string"],
    "cdktf.NumberMap": ["map", "number"],
    "cdktf.BooleanMap": ["map", "bool"],
    "cdktf.AnyMap": ["map", "dynamic"],
    "cdktf.StringMapList": ["list", ["map", "string"]],
    "cdktf.NumberMapList": ["list", ["map", "number"]],
    "cdktf.BooleanMapList": ["list", ["map", "bool"]],
    "cdktf.StringListList": ["list", ["list", "string"]],
}


@dataclass
class Member:
    """One attribute or nested object as cdktf generated it."""

    name: str
    computed: bool
    optional: bool
    required: bool
    type: Any = None  # a cty type in JSON form, for plain attributes
    nested: str | None = None  # the OutputReference class of a nested object
    nesting: str = "single"  # single | list | set
    max_one: bool = False  # a list of at most one element (cdktf indexes it with 0)


@dataclass
class ProviderSource:
    """The classes of one provider package, and the kind of SDK that provider is written with."""

    kind: str  # "framework" (nested objects are nested attributes) or "sdk" (they are blocks)
    classes: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (base, body)
    config_ts: str = ""

    def members(self, class_name: str) -> list[Member]:
        """The schema members of a generated class, in source order."""
        body = self.classes[class_name][1]
        found = list(_FLAGS.finditer(body))
        result = []
        for i, flags in enumerate(found):
            chunk = body[flags.end() : found[i + 1].start() if i + 1 < len(found) else len(body)]
            name, computed, optional, required = flags.groups()
            member = Member(name, computed == "true", optional == "true", required == "true")
            self._describe(member, chunk)
            result.append(member)
        return result

    def _describe(self, member: Member, chunk: str) -> None:
        new = _NEW.search(chunk)
        if new and new.group(2) == member.name:
            cls, wraps_set = new.group(1), new.group(3)
            if cls in _CDKTF_COLLECTIONS:
                member.type = _CDKTF_COLLECTIONS[cls]
                return
            base, body = self.classes[cls]
            if base == "cdktf.ComplexList":
                member.nested = re.search(r"public get\(index: number\): (\w+)", body).group(1)  # type: ignore[union-attr]
                member.nesting = "set" if wraps_set == "true" else "list"
            else:
                member.nested = cls
                # A list block of at most one element is read back at index 0.
                member.max_one = "terraformAttribute, false, 0)" in body
                member.nesting = "list" if member.max_one else "single"
            return
        getter = _GETTER.search(chunk)
        if not getter or getter.group(3) != member.name:
            raise ValueError(f"cannot type {member.name!r} from:\n{chunk[:300]}")
        wrappers, method, _ = getter.groups()
        member.type = _SCALARS[method]
        if "Fn.tolist(" in wrappers:  # cdktf reads sets back through tolist()
            member.type = ["set", member.type[1]]

    def object_type(self, class_name: str) -> list[Any]:
        """The cty object type of a nested class (for attributes that hold objects)."""
        attrs = {}
        for m in self.members(class_name):
            if m.nested is None:
                attrs[m.name] = m.type
            else:
                inner = self.object_type(m.nested)
                attrs[m.name] = inner if m.nesting == "single" else [m.nesting, inner]
        return ["object", attrs]

    def block(self, class_name: str) -> dict[str, Any]:
        """The schema block of a generated class."""
        attributes: dict[str, Any] = {}
        block_types: dict[str, Any] = {}
        for m in self.members(class_name):
            flags = {k: True for k in ("required", "optional", "computed") if getattr(m, k)}
            if m.nested is None:
                attributes[m.name] = {"type": m.type, **flags}
            elif self.kind == "framework":
                nested = self.block(m.nested)
                nested_attrs = nested["attributes"]
                attributes[m.name] = {
                    "nested_type": {"attributes": nested_attrs, "nesting_mode": m.nesting},
                    **flags,
                }
            elif (m.computed and not m.optional) or (
                m.nesting == "single" and m.name != "timeouts"
            ):
                # SDKv2 shows computed-only nested objects, and object-typed values, as attributes.
                inner = self.object_type(m.nested)
                attributes[m.name] = {
                    "type": inner if m.nesting == "single" else [m.nesting, inner],
                    **flags,
                }
            else:
                bt: dict[str, Any] = {"nesting_mode": m.nesting, "block": self.block(m.nested)}
                if m.required:
                    bt["min_items"] = 1
                if m.max_one:
                    bt["max_items"] = 1
                block_types[m.name] = bt
        out: dict[str, Any] = {"attributes": attributes}
        if block_types:
            out["block_types"] = block_types
        return out

    def blocks(self, which: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """(type name, block) of every resource (which="resource") or data source ("data")."""
        base = "cdktf.TerraformResource" if which == "resource" else "cdktf.TerraformDataSource"
        for name, (cls_base, body) in sorted(self.classes.items()):
            if cls_base == base:
                type_name = re.search(r'tfResourceType = "(\w+)"', body).group(1)  # type: ignore[union-attr]
                yield type_name, self.block(name)

    def provider_block(self) -> dict[str, Any]:
        """The provider configuration block, from the config interface and its HCL mapper."""
        return _ConfigReader(self.config_ts, self.kind).block("ProviderConfig")


class _ConfigReader:
    """Reads provider configuration, which cdktf generates as interfaces and mapper functions."""

    def __init__(self, ts: str, kind: str) -> None:
        self.ts, self.kind = ts, kind
        self.interfaces = dict(re.findall(r"^export interface (\w+) \{\n(.*?)^\}", ts, re.S | re.M))

    def block(self, suffix: str) -> dict[str, Any]:
        (iface,) = [n for n in self.interfaces if n.endswith(suffix)]
        return self._block(iface)

    def _block(self, iface: str) -> dict[str, Any]:
        body = self.interfaces[iface]
        attributes: dict[str, Any] = {}
        block_types: dict[str, Any] = {}
        fields = re.findall(r"#(\w+) \w+#\w+\}\n\s*\*/\n\s*readonly (\w+)(\??): ([^;]+);", body)
        for tf_name, camel, opt, ts_type in fields:
            if camel == "alias":  # a cdktf meta-argument, not part of the provider schema
                continue
            flags = {"optional": True} if opt else {"required": True}
            struct = re.match(r"(\w+)(\[\])?", ts_type)
            name = struct.group(1) if struct else ""
            if name in self.interfaces:
                nesting = "list" if struct and struct.group(2) else "single"
                inner = self._block(name)
                if self.kind == "framework":
                    attributes[tf_name] = {
                        "nested_type": {"attributes": inner["attributes"], "nesting_mode": nesting},
                        **flags,
                    }
                else:
                    block_types[tf_name] = {"nesting_mode": nesting, "block": inner}
                continue
            attributes[tf_name] = {"type": _ts_type(ts_type), **flags}
        out: dict[str, Any] = {"attributes": attributes}
        if block_types:
            out["block_types"] = block_types
        return out


def _ts_type(ts_type: str) -> Any:
    ts_type = ts_type.replace(" | cdktf.IResolvable", "")
    simple = {"string": "string", "number": "number", "boolean": "bool"}
    if ts_type in simple:
        return simple[ts_type]
    if ts_type.endswith("[]"):
        return ["list", _ts_type(ts_type[:-2])]
    m = re.fullmatch(r"\{ \[key: string\]: (\w+) \}", ts_type)
    if m:
        return ["map", simple.get(m.group(1), "dynamic")]
    raise ValueError(f"unknown TypeScript type {ts_type!r}")


def load_package(package: Path, kind: str) -> ProviderSource:
    """Read a cdktf provider package: its .jsii names the modules, their JS embeds the TS source."""
    jsii = json.loads((package / ".jsii").read_text())
    # Every type the .jsii declares says which TypeScript file defines it (src/x/index.ts).
    modules = {t["locationInModule"]["filename"] for t in jsii["types"].values()}
    source = ProviderSource(kind)
    for module in sorted(modules):
        js = package / "lib" / module.removeprefix("src/").replace(".ts", ".js")
        ts = _embedded_ts(js)
        for name, base, body in _CLASS.findall(ts):
            source.classes[name] = (base, body)
        if "extends cdktf.TerraformProvider" in ts:
            source.config_ts = ts
    return source


def _embedded_ts(js: Path) -> str:
    """The TypeScript that a compiled module was built from, kept in its inline source map."""
    m = re.search(r"sourceMappingURL=data:application/json;base64,(\S+)", js.read_text())
    if not m:
        return ""
    content = json.loads(base64.b64decode(m.group(1)))["sourcesContent"]
    return str(content[0]) if content else ""
