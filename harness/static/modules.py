"""Where the Terraform modules live, and what their `variables.tf` declare."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
from hcl2 import SerializationOptions

from harness.paths import project_dir

# harness/static/modules.py -> repository root -> terraform/
_HCL_OPTIONS = SerializationOptions(
    with_comments=False, explicit_blocks=False, preserve_heredocs=False, strip_string_quotes=True
)


@dataclass(frozen=True)
class ModuleVariable:
    """One `variable` block, as python-hcl2 reads it (types and expressions as text)."""

    name: str
    type: str
    description: str
    required: bool
    default: Any
    sensitive: bool
    has_validation: bool


def terraform_root() -> Path:
    """Return the root module directory: the checkout's `terraform/`, or the packaged copy."""
    return project_dir("terraform")


def tool_names(root: Path | None = None) -> list[str]:
    """Return the modules that have a provider-free `values` submodule, sorted."""
    modules = (root or terraform_root()) / "modules"
    return sorted(p.parent.name for p in modules.glob("*/values") if p.is_dir())


def root_variable_name(tool: str, name: str) -> str:
    """Return the root-module variable that feeds a module's variable `name`.

    >>> root_variable_name("prefect", "worker_chart_version")
    'prefect_worker_chart_version'
    >>> root_variable_name("dask", "worker_replicas")
    'worker_replicas'
    """
    if name == "create":
        return f"enable_{tool}"
    if name == "namespace" or name.endswith("chart_version"):
        return f"{tool}_{name}"
    return name


def read_variables(path: Path) -> dict[str, ModuleVariable]:
    """Parse the `variable` blocks of a `.tf` file, in file order."""
    stat = path.stat()
    # Parsing is slow (~0.1 s a file) and callers read the same files many times.
    return dict(_read_variables(path.resolve(), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=64)
def _read_variables(path: Path, mtime_ns: int, size: int) -> dict[str, ModuleVariable]:
    del mtime_ns, size  # part of the cache key only
    with path.open() as handle:
        document = hcl2.load(handle, serialization_options=_HCL_OPTIONS)
    found: dict[str, ModuleVariable] = {}
    for entry in document.get("variable", []):
        for name, body in entry.items():
            found[name] = ModuleVariable(
                name=name,
                type=_unwrap(str(body.get("type", "any"))),
                description=str(body.get("description", "")),
                required="default" not in body,
                default=body.get("default"),
                sensitive=bool(body.get("sensitive", False)),
                has_validation=bool(body.get("validation")),
            )
    return found


def _unwrap(expression: str) -> str:
    # python-hcl2 writes expressions as "${...}"; the bare text reads better.
    if expression.startswith("${") and expression.endswith("}"):
        return expression[2:-1]
    return expression
