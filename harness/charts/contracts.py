"""Offline contracts: for each chart version the modules pin, the facts the values contract and
the expected versions need when no chart package is at hand, derived from the package and
committed in `harness/static/contracts/<chart>-<version>.json`.

They hold no upstream text (no comments, descriptions or templates), only:

- `appVersion`, `kubeVersion`;
- `values`: the default values' keys and the JSON type of each leaf (`{"image": {"tag":
  "string"}}`; `{}` where the chart leaves a map open);
- `images`: the default image references (the repository, tag... scalars of each map that names
  an image), in the same tree shape;
- `schema`: the values schema reduced to keys, types and required keys (`oneOf` becomes
  `anyOf`: without their enums the branches may overlap), or null without one.

Regenerate them from a chart source after changing a pinned version:

    mlops-conformance charts contracts --write [--charts DIR]

Public API:
    derive_contract(chart, version, package) -> dict   the contract of one package
    load_contract(chart, version) -> dict | None       the committed one, if any
    contract_path(chart, version) -> Path
    placeholder_values(contract) -> dict               defaults of the right types + the images
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.charts.package import PackageData

CONTRACTS_DIR = Path(__file__).resolve().parent.parent / "static" / "contracts"
REGENERATE = "mlops-conformance charts contracts --write"

# Schema keywords kept: the structure (keys, types, required). Everything else is dropped.
_STRUCTURE = frozenset({"type", "required", "$ref"})
_SUBSCHEMA = frozenset({"items", "additionalProperties", "additionalItems"})
_SUBSCHEMA_MAPS = frozenset({"properties", "patternProperties", "definitions", "$defs"})
_SUBSCHEMA_LISTS = {"anyOf": "anyOf", "allOf": "allOf", "oneOf": "anyOf"}
# The scalars of a map that names an image; a map is one when it has a tag-like key.
_IMAGE_KEYS = frozenset({"registry", "repository", "image", "name", "tag", "prefectTag",
                         "defaultImageVersion", "digest"})
_TAG_KEYS = frozenset({"tag", "prefectTag", "defaultImageVersion", "digest"})
_PLACEHOLDERS: dict[str, Any] = {"string": "", "integer": 0, "number": 0.0, "boolean": False,
                                 "null": None, "array": []}


def contract_path(chart: str, version: str) -> Path:
    """Where the committed contract of `chart` `version` is."""
    return CONTRACTS_DIR / f"{chart}-{version}.json"


def load_contract(chart: str, version: str) -> dict[str, Any] | None:
    """The committed contract of `chart` `version`, or None when there is none."""
    path = contract_path(chart, version)
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else None


def derive_contract(chart: str, version: str, package: PackageData) -> dict[str, Any]:
    """The offline contract of a chart package (see the module's docstring)."""
    return {
        "generated_by": REGENERATE,
        "chart": chart,
        "version": version,
        "appVersion": str(package.meta.get("appVersion") or ""),
        "kubeVersion": str(package.meta.get("kubeVersion") or ""),
        "values": _types(package.values),
        "images": _images(package.values),
        "schema": _reduce(package.schema) if package.schema is not None else None,
    }


def render_contract(contract: dict[str, Any]) -> str:
    """The contract as committed: sorted keys, two-space indents, a final newline."""
    return json.dumps(contract, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def placeholder_values(contract: dict[str, Any]) -> dict[str, Any]:
    """Default values of the right type for every key (`""`, 0, false, null, []), with the
    default image references in place: what the checks need of `values.yaml`.
    """
    from harness.static.contract import merge_values  # noqa: PLC0415 - avoid an import cycle

    values = _placeholders(contract.get("values") or {})
    merged = merge_values(values, contract.get("images") or {})
    return merged if isinstance(merged, dict) else {}


def _types(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _types(item) for key, item in value.items()}
    # bool before int: True is an int to Python, a boolean to JSON.
    for kind, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (list, "array")):
        if isinstance(value, kind):
            return name
    return "null" if value is None else "string"


def _placeholders(types: Any) -> Any:
    if isinstance(types, dict):
        return {key: _placeholders(item) for key, item in types.items()}
    placeholder = _PLACEHOLDERS.get(str(types), "")
    return list(placeholder) if isinstance(placeholder, list) else placeholder


def _images(values: Any) -> dict[str, Any]:
    if not isinstance(values, dict):
        return {}
    found: dict[str, Any] = {}
    if _TAG_KEYS & set(values):
        found = {str(k): v for k, v in values.items()
                 if k in _IMAGE_KEYS and isinstance(v, str | int | float) and
                 not isinstance(v, bool)}
    for key, item in values.items():
        inner = _images(item)
        if inner:
            found[str(key)] = inner
    return found


def _reduce(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return schema  # `true`/`false` schemas
    reduced: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _STRUCTURE:
            reduced[key] = value
        elif key in _SUBSCHEMA:
            reduced[key] = ([_reduce(item) for item in value] if isinstance(value, list)
                            else _reduce(value))
        elif key in _SUBSCHEMA_MAPS and isinstance(value, dict):
            reduced[key] = {name: _reduce(item) for name, item in value.items()}
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            reduced.setdefault(_SUBSCHEMA_LISTS[key], []).extend(_reduce(v) for v in value)
    return reduced


def write_contracts(charts: list[tuple[str, str]], setting: str | None = None) -> list[Path]:
    """Derive and write the contract of each (chart, version) from the chart source.

    Raises:
        ChartUnavailableError: a package is not at hand in the source.

    """
    from harness.charts.package import read_package  # noqa: PLC0415
    from harness.charts.source import chart_source  # noqa: PLC0415

    source = chart_source(setting)
    written = []
    CONTRACTS_DIR.mkdir(parents=True, exist_ok=True)
    for chart, version in charts:
        contract = derive_contract(chart, version, read_package(source.locate(chart, version)))
        path = contract_path(chart, version)
        path.write_text(render_contract(contract), encoding="utf-8")
        written.append(path)
    return written


def contract_targets(setting: str | None = None) -> list[tuple[str, str]]:
    """The chart versions that get a contract: every pinned one, plus the other versions of
    those charts the source holds (the previous releases, so version sets work offline too),
    and those already committed.
    """
    from harness.charts.inventory import chart_uses  # noqa: PLC0415
    from harness.charts.source import chart_source  # noqa: PLC0415
    from harness.scenario import load_scenario, scenario_names  # noqa: PLC0415

    source = chart_source(setting)
    pinned = chart_uses(load_scenario(name) for name in scenario_names())
    targets = {(use.chart, use.version) for use in pinned}
    for chart in {use.chart for use in pinned}:
        targets |= {(chart, version) for version in source.versions(chart)}
    for path in CONTRACTS_DIR.glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        targets.add((str(data["chart"]), str(data["version"])))
    return sorted(targets)
