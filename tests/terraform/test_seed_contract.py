"""The seed document's parameter tables are the contract of the root module's variables."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from harness.static.modules import (
    _HCL_OPTIONS,
    read_variables,
    root_variable_name,
    terraform_root,
    tool_names,
)

ROOT = terraform_root()
SEED = Path(__file__).parent / "fixtures" / "seed-parameters.yaml"
_ROW = re.compile(r"^\|\s*`(\w+)`\s*\|\s*(\w+)\s*\|")


def seed_parameters() -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = yaml.safe_load(SEED.read_text())["parameters"]
    return parameters


def deviations() -> dict[str, set[str]]:
    """Return `{parameter: {kinds}}` from the table in terraform/README.md."""
    text = (ROOT / "README.md").read_text()
    table = text.split("<!-- BEGIN_DEVIATIONS -->", 1)[1].split("<!-- END_DEVIATIONS -->", 1)[0]
    found: dict[str, set[str]] = {}
    for line in table.splitlines():
        if row := _ROW.match(line):
            found.setdefault(row.group(1), set()).add(row.group(2))
    return found


def root_name(parameter: dict[str, Any]) -> str:
    return root_variable_name(parameter["tool"], parameter["name"])


VARIABLES = read_variables(ROOT / "variables.tf")


@pytest.mark.parametrize("parameter", seed_parameters(), ids=root_name)
def test_seed_parameter_exists_with_its_default(parameter: dict[str, Any]) -> None:
    name = root_name(parameter)
    assert name in VARIABLES, f"seed parameter {name} is missing from terraform/variables.tf"
    variable = VARIABLES[name]
    assert variable.description, f"{name} has no description"
    if parameter["required"]:
        assert variable.required, f"{name} is required in the seed: it must have no default"
        assert variable.has_validation, f"{name} is required: it needs a validation block"
        return
    assert not variable.required, f"{name} has a default in the seed"
    if variable.default != parameter["default"]:
        assert "default" in deviations().get(name, set()), (
            f"{name} defaults to {variable.default!r}, the seed to {parameter['default']!r};"
            " list the deviation and its reason in terraform/README.md"
        )


def test_the_seed_has_every_table() -> None:
    tools = {p["tool"] for p in seed_parameters()}
    assert tools == set(tool_names())
    assert len(seed_parameters()) == 72


def test_every_listed_deviation_names_a_real_variable() -> None:
    seed_names = {p["name"] for p in seed_parameters()}
    for name, kinds in deviations().items():
        assert kinds <= {"default", "behaviour", "name"}, f"{name}: unknown kind {kinds}"
        assert name in VARIABLES or name in seed_names, f"deviation {name} names no variable"


def test_listed_default_deviations_really_deviate() -> None:
    seed = {root_name(p): p for p in seed_parameters() if not p["required"]}
    for name, kinds in deviations().items():
        if "default" in kinds:
            assert VARIABLES[name].default != seed[name]["default"], f"{name} no longer deviates"


@pytest.mark.parametrize(
    "name",
    [
        "jhub_proxy_secret_token",
        "db_password",
        "feast_postgresql_password",
        "oauth_github_client_secret",
        "docker_auth_key",
        "dummy_password",
    ],
)
def test_secrets_are_sensitive(name: str) -> None:
    assert VARIABLES[name].sensitive


def test_root_variables_mirror_the_modules() -> None:
    for tool in tool_names():
        for name, variable in read_variables(ROOT / "modules" / tool / "variables.tf").items():
            mirrored = VARIABLES[root_variable_name(tool, name)]
            assert (mirrored.type, mirrored.default, mirrored.required, mirrored.sensitive) == (
                variable.type,
                variable.default,
                variable.required,
                variable.sensitive,
            ), f"terraform/variables.tf and modules/{tool} disagree on {name}"


def test_root_passes_each_module_variable_as_the_renderer_does() -> None:
    # harness.static.render wires the values submodules by root_variable_name(); the root
    # module must wire the real modules the same way or rendered values would lie.
    with (ROOT / "main.tf").open() as handle:
        document = hcl2.load(handle, serialization_options=_HCL_OPTIONS)
    modules = {name: body for entry in document["module"] for name, body in entry.items()}
    assert sorted(modules) == tool_names()
    for tool, body in modules.items():
        expected = read_variables(ROOT / "modules" / tool / "variables.tf")
        for name in expected:
            assert body.get(name) == f"${{var.{root_variable_name(tool, name)}}}", (
                f"module {tool}: {name} must be var.{root_variable_name(tool, name)}"
            )
