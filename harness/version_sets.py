"""Version sets: `versions/<name>.yaml`, a chart version per root-module chart-version variable
(`jupyterhub_chart_version: 4.4.0`, ...), validated like scenarios and applied as tfvars
overrides. `current` holds the pins (the variables' defaults), `previous` the release before each.

Public API:
    load_version_set(name_or_path, option="--versions") -> VersionSet   (BadInputError, one line)
    version_set_names() -> list[str]
    chart_version_variables() -> list[str]   the root module's `*_chart_version` variables
    apply_version_set(tfvars, version_set) -> tfvars with the set's versions
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.errors import BadInputError
from harness.project_files import names_in, read_mapping, resolve
from harness.variables import root_variables

_SUFFIX = "_chart_version"


class VersionSet(BaseModel):
    """One named set of chart versions, keyed by the root module's chart-version variable."""

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    path: Path | None = None
    description: str
    charts: dict[str, str] = Field(
        description="Root variable (`<tool>_chart_version`) to the chart version it selects.")

    @field_validator("charts", mode="before")
    @classmethod
    def _versions_are_text(cls, value: Any) -> Any:
        # YAML reads `1.18` as a number and `1.10` as 1.1: demand quotes rather than guess.
        if isinstance(value, dict):
            for key, version in value.items():
                if not isinstance(version, str):
                    msg = (f"{key}: chart version {version!r} is not text; quote it "
                           f"(e.g. {key}: \"{version}\")")
                    raise ValueError(msg)  # noqa: TRY004 - pydantic wants ValueError
        return value

    def tfvars(self) -> dict[str, str]:
        """The root-module variable overrides that select this set's chart versions."""
        return dict(self.charts)


def chart_version_variables() -> list[str]:
    """The root module's variables that choose a chart version, in declaration order."""
    return [name for name in root_variables() if name.endswith(_SUFFIX)]


def version_set_names() -> list[str]:
    """Names of the version sets in the versions directory, sorted."""
    return names_in("versions")


def version_set_path(name_or_path: str, option: str = "--versions") -> Path:
    """Resolve a version set: a file path, or a name in the versions directory.

    Raises:
        BadInputError: no such set; the message names the option and the known sets.

    """
    return resolve(name_or_path, "versions", option, "version set")


def load_version_set(name_or_path: str, option: str = "--versions") -> VersionSet:
    """Load and validate a version set.

    Raises:
        BadInputError: missing or unreadable file, bad YAML, unknown key, a key that is not a
            chart-version variable of the root module, or a version that is not text; the
            one-line message names the file, the field and the fix.

    """
    path = version_set_path(name_or_path, option)
    raw = read_mapping(path, "version set", "`description` and `charts`", option)
    try:
        version_set = VersionSet.model_validate({**raw, "name": path.stem, "path": path})
    except ValidationError as exc:
        raise BadInputError(f"{path}: {_first_error(exc)}") from exc
    _check_variables(path, version_set.charts)
    return version_set


def apply_version_set(tfvars: dict[str, Any], version_set: VersionSet) -> dict[str, Any]:
    """`tfvars` with the set's chart versions in place of the scenario's (or the defaults)."""
    return {**tfvars, **version_set.tfvars()}


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field = ".".join(str(p) for p in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"field {field!r}: unknown key; remove it or fix its spelling"
    if error["type"] == "missing":
        return f"field {field!r}: required but missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"field {field!r}: {message}"


def _check_variables(path: Path, charts: dict[str, str]) -> None:
    known = chart_version_variables()
    for name, version in charts.items():
        if name not in known:
            hint = difflib.get_close_matches(name, known, n=1)
            fix = f"did you mean {hint[0]!r}?" if hint else f"known: {', '.join(known)}"
            raise BadInputError(f"{path}: field 'charts.{name}': not a chart-version variable "
                                f"of terraform/variables.tf; {fix}")
        if not version.strip():
            raise BadInputError(f"{path}: field 'charts.{name}': empty version; give the "
                                "chart version, e.g. 1.2.3")
