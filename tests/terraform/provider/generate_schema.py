"""Regenerate schemas/{helm,kubernetes}.json from the cdktf provider packages on npm."""

from __future__ import annotations

import argparse
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from cdktf_source import ProviderSource, load_package

HERE = Path(__file__).parent
# The npm package of each provider and the provider release it was generated from.
PACKAGES = {
    "helm": ("@cdktf/provider-helm@12.1.2", "hashicorp/helm", "3.1.1", "framework"),
    "kubernetes": ("@cdktf/provider-kubernetes@12.1.1", "hashicorp/kubernetes", "2.38.0", "sdk"),
}
# What cdktf's generated code does not carry, from the providers' documentation: which values
# are sensitive or write-only, and the max_items of the kubernetes provider's own blocks.
OVERRIDES: dict[str, dict[str, dict[str, object]]] = {
    "helm": {
        "provider.kubernetes.password": {"sensitive": True},
        "provider.kubernetes.token": {"sensitive": True},
        "provider.kubernetes.client_key": {"sensitive": True},
        "provider.registries.password": {"sensitive": True},
        "resource.helm_release.repository_password": {"sensitive": True},
        "resource.helm_release.set_sensitive": {"sensitive": True},
        "resource.helm_release.set_wo": {"write_only": True},
        "data.helm_template.repository_password": {"sensitive": True},
        "data.helm_template.set_sensitive": {"sensitive": True},
        "data.helm_template.set_wo": {"write_only": True},
    },
    "kubernetes": {
        "provider.password": {"sensitive": True},
        "provider.token": {"sensitive": True},
        "provider.client_key": {"sensitive": True},
        "provider.exec": {"max_items": 1},
        "provider.experiments": {"max_items": 1},
        **{
            f"{kind}.{name}.{attr}": {"sensitive": True}
            for kind in ("resource", "data")
            for name in ("kubernetes_secret", "kubernetes_secret_v1")
            for attr in ("data", "binary_data")
        },
        "resource.kubernetes_secret_v1_data.data": {"sensitive": True},
        **{
            f"resource.{name}.{attr}": {"write_only": True}
            for name in ("kubernetes_secret", "kubernetes_secret_v1")
            for attr in ("data_wo", "binary_data_wo")
        },
    },
}


def _apply_overrides(schema: dict[str, Any], overrides: dict[str, dict[str, object]]) -> None:
    sections = {"provider": None, "resource": "resource_schemas", "data": "data_source_schemas"}
    for dotted, extra in overrides.items():
        kind, *path = dotted.split(".")
        section = sections[kind]
        node = schema["provider"] if section is None else schema[section][path.pop(0)]
        block = node["block"]
        for step in path[:-1]:
            block = (
                block["attributes"][step]["nested_type"]
                if step in block["attributes"]
                else block["block_types"][step]["block"]
            )
        leaf = path[-1]
        if leaf in block.get("attributes", {}):
            _update(block["attributes"][leaf], extra)
        elif leaf in block.get("block_types", {}):
            block["block_types"][leaf].update(extra)
        # A type missing from this package version is not an error: the override just has no target.


def _update(attribute: dict[str, Any], extra: dict[str, object]) -> None:
    attribute.update(extra)
    if extra.get("write_only") and "nested_type" in attribute:
        # Inside a write-only nested attribute every attribute is write-only too.
        for child in attribute["nested_type"]["attributes"].values():
            child["write_only"] = True


def _unpack(spec: str, work: Path) -> Path:
    """`npm pack` one package into work and return its unpacked `package/` folder."""
    out = subprocess.run(
        ["npm", "pack", spec, "--silent"], cwd=work, check=True, capture_output=True, text=True
    ).stdout.split()[-1]
    dest = work / out.removesuffix(".tgz")
    with tarfile.open(work / out) as tar:
        tar.extractall(dest, filter="data")
    return dest / "package"


def provider_schema(source: ProviderSource) -> dict[str, Any]:
    """One provider's entry of `terraform providers schema -json`."""
    return {
        "provider": {"version": 0, "block": source.provider_block()},
        "resource_schemas": {
            name: {"version": 0, "block": block} for name, block in source.blocks("resource")
        },
        "data_source_schemas": {
            name: {"version": 0, "block": block} for name, block in source.blocks("data")
        },
    }


def main(argv: list[str] | None = None) -> None:
    """Write one schema file per provider; package folders may be given to skip npm."""
    parser = argparse.ArgumentParser(description=__doc__)
    for name in PACKAGES:
        parser.add_argument(f"--{name}", type=Path, help=f"unpacked npm package of {name}")
    parser.add_argument("--out", type=Path, default=HERE / "schemas")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, (spec, address, _version, kind) in PACKAGES.items():
            package = getattr(args, name) or _unpack(spec, Path(tmp))
            source = load_package(package, kind)
            schema = provider_schema(source)
            _apply_overrides(schema, OVERRIDES[name])
            doc = {
                "format_version": "1.0",
                "provider_schemas": {f"registry.terraform.io/{address}": schema},
            }
            path = args.out / f"{name}.json"
            path.write_text(dump(doc))
            print(f"{path}: {len(doc_types(doc))} types, {path.stat().st_size} bytes")


def dump(doc: dict[str, Any]) -> str:
    """JSON with one line per schema, so that a regeneration diffs per resource type."""

    def compact(value: Any) -> str:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))

    ((address, schema),) = doc["provider_schemas"].items()
    sections = []
    for section in ("data_source_schemas", "provider", "resource_schemas"):
        if section == "provider":
            sections.append(f'   "provider": {compact(schema["provider"])}')
            continue
        rows = ",\n".join(
            f"    {compact(n)}: {compact(v)}" for n, v in sorted(schema[section].items())
        )
        sections.append(f'   "{section}": {{\n{rows}\n   }}')
    body = ",\n".join(sections)
    return (
        f'{{\n "format_version": {compact(doc["format_version"])},\n'
        f' "provider_schemas": {{\n  {compact(address)}: {{\n{body}\n  }}\n }}\n}}\n'
    )


def doc_types(doc: dict[str, Any]) -> list[str]:
    """Names of every resource and data source in a schema document."""
    (schema,) = doc["provider_schemas"].values()
    return [*schema["resource_schemas"], *schema["data_source_schemas"]]


if __name__ == "__main__":
    main()
