"""Scenarios: `scenarios/<name>.yaml` loaded into a validated model, with one-line errors."""

from __future__ import annotations

import difflib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, ValidationError

from harness.check_ids import known_check_ids
from harness.errors import BadInputError
from harness.project_files import names_in, read_mapping, resolve
from harness.variables import root_variables

TOOLS = ("jupyterhub", "prefect", "dask", "feast", "mlflow", "seldon")


class GitHubAccounts(BaseModel):
    """Accounts the local GitHub stand-in holds (OAuth scenario); memberships are private."""

    model_config = ConfigDict(extra="forbid")

    users: dict[str, list[str]] = Field(
        default_factory=dict, description="GitHub login to the organizations it belongs to."
    )


class LocalSettings(BaseModel):
    """Settings only the local target reads; everything else comes from `tfvars`."""

    model_config = ConfigDict(extra="forbid")

    ready_timeout_s: dict[str, PositiveFloat] = Field(
        default_factory=dict, description="Per-component readiness timeout, e.g. `mlflow: 120`."
    )
    python: dict[str, str] = Field(
        default_factory=dict, description="Per-tool Python interpreter to run its server from."
    )
    github: GitHubAccounts | None = Field(
        default=None, description="Users and organizations of the local GitHub stand-in."
    )


class ChecksSettings(BaseModel):
    """Which checks apply to the scenario."""

    model_config = ConfigDict(extra="forbid")

    skip: dict[str, str] = Field(
        default_factory=dict, description="Check id (or tool) to the reason it does not apply."
    )


class Scenario(BaseModel):
    """One scenario: what the root module gets, and how the local target mirrors it."""

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    path: Path | None = None
    description: str
    tfvars: dict[str, Any] = Field(default_factory=dict)
    local: LocalSettings = Field(default_factory=LocalSettings)
    checks: ChecksSettings = Field(default_factory=ChecksSettings)

    def var(self, name: str) -> Any:
        """Return the value the root module gets for `name`: the scenario's, else its default."""
        if name in self.tfvars:
            return self.tfvars[name]
        return root_variables()[name].default

    def effective_tfvars(self) -> dict[str, Any]:
        """Every root variable that has a value here or a default (required secrets excluded)."""
        values = {n: v.default for n, v in root_variables().items() if not v.required}
        values.update(self.tfvars)
        return values

    def enabled(self, tool: str) -> bool:
        """Whether the scenario installs `tool` (root variable `enable_<tool>`)."""
        key = f"enable_{tool}"
        return bool(self.var(key)) if key in root_variables() else True


def scenario_path(name_or_path: str) -> Path:
    """Resolve `--scenario`: a file path, or a name in the scenarios directory.

    Raises:
        BadInputError: no such scenario; the message lists the known names.

    """
    return resolve(name_or_path, "scenarios", "--scenario", "scenario")


def scenario_names() -> list[str]:
    """Names of the scenarios in the scenarios directory, sorted."""
    return names_in("scenarios")


def load_scenario(name_or_path: str) -> Scenario:
    """Load, validate and return a scenario.

    Raises:
        BadInputError: unreadable file, bad YAML, unknown key, wrong type or missing field; the
            one-line message names the file, the field and what was expected.

    """
    path = scenario_path(name_or_path)
    raw = read_mapping(path, "scenario", "`description` and `tfvars`")
    try:
        scenario = Scenario.model_validate({**raw, "name": path.stem, "path": path})
    except ValidationError as exc:
        raise BadInputError(f"{path}: {_first_error(exc)}") from exc
    _check_tfvars(path, scenario.tfvars)
    _check_skips(path, scenario.checks.skip)
    return scenario


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field = ".".join(str(p) for p in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"field {field!r}: unknown key; remove it or fix its spelling"
    if error["type"] == "missing":
        return f"field {field!r}: required but missing"
    return f"field {field!r}: {error['msg']} (got {error.get('input')!r})"


def _check_tfvars(path: Path, tfvars: dict[str, Any]) -> None:
    variables = root_variables()
    for name, value in tfvars.items():
        if name not in variables:
            hint = difflib.get_close_matches(name, list(variables), n=1)
            fix = f"did you mean {hint[0]!r}?" if hint else "see terraform/README.md for the list"
            raise BadInputError(f"{path}: field 'tfvars.{name}': not a root module variable; {fix}")
        if variables[name].sensitive and value not in ("", None):
            raise BadInputError(
                f"{path}: field 'tfvars.{name}': secrets do not belong in scenario files; "
                f"remove it (a value is generated per run) or set TF_VAR_{name} in the environment"
            )


def _check_skips(path: Path, skip: dict[str, str]) -> None:
    """Each `checks.skip` key names a check id the check modules declare, or a tool."""
    ids = known_check_ids()
    known = sorted({*ids, *TOOLS, *(ident.split(".", 1)[0] for ident in ids)})
    for key in skip:
        if key not in known:
            hint = difflib.get_close_matches(key, known, n=1)
            fix = f"did you mean {hint[0]!r}?" if hint else "name a check id or a tool"
            raise BadInputError(f"{path}: field 'checks.skip.{key}': no check or tool of that "
                                f"name; {fix}")


def scenarios_table() -> str:
    """README's table: each scenario, its description, what it sets apart from defaults, and
    the objects you create before applying it (what the modules declare user-provided).
    """
    lines = ["| scenario | what it covers | differs from the root module's defaults in "
             "| you create beforehand |",
             "|---|---|---|---|"]
    variables = root_variables()
    names = scenario_names()
    # Rendering runs Terraform once per scenario: side by side.
    with ThreadPoolExecutor(max_workers=len(names) or 1) as pool:
        beforehand = dict(zip(names, pool.map(_user_provided_cell, names), strict=True))
    for name in names:
        scenario = load_scenario(name)
        changed = sorted(k for k, v in scenario.tfvars.items() if v != variables[k].default)
        skips = len(scenario.checks.skip)
        cell = ", ".join(f"`{k}`" for k in changed) or "nothing"
        if skips:
            cell += f"; skips {skips} check{'s' if skips > 1 else ''}"
        lines.append(f"| `{name}` | {' '.join(scenario.description.split())} | {cell} "
                     f"| {beforehand[name]} |")
    return "\n".join(lines)


def _user_provided_cell(name: str) -> str:
    # Imported here: validating a scenario loads neither Terraform's wrapper nor secrets.
    from harness.secrets import run_secrets  # noqa: PLC0415
    from harness.static.render import render_scenario  # noqa: PLC0415

    scenario = load_scenario(name)
    rendered = render_scenario(dict(scenario.tfvars), secrets=run_secrets(scenario))
    cells = [f"{u.kind} `{u.namespace}/{u.name}`" for u in rendered.user_provided]
    return f"{', '.join(cells)} (how: `terraform output user_provided`)" if cells else "nothing"
