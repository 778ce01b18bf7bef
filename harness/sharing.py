"""What scenarios of one run can share: a tool whose module inputs equal the base scenario's.

A tool is provisioned again in a scenario only if a variable of its Terraform module (or a
local-target setting of it) differs from the base scenario's; otherwise its checks in that
column are skipped as covered by the base column. This keeps an all-scenario run close to one
scenario's time without claiming results that were not measured.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from harness.scenario import TOOLS
from harness.static.modules import read_variables, root_variable_name, terraform_root

if TYPE_CHECKING:
    from harness.scenario import Scenario


@functools.cache
def module_inputs() -> dict[str, frozenset[str]]:
    """Each tool's module inputs, as root-module variable names."""
    root = terraform_root()
    return {
        tool: frozenset(root_variable_name(tool, name) for name in
                        read_variables(root / "modules" / tool / "variables.tf"))
        for tool in TOOLS
    }


def tools_to_provision(base: Scenario, scenario: Scenario) -> frozenset[str]:
    """The tools whose configuration in `scenario` differs from `base`.

    >>> from harness.scenario import load_scenario
    >>> sorted(tools_to_provision(load_scenario("defaults"), load_scenario("defaults")))
    []
    """
    mine, theirs = scenario.effective_tfvars(), base.effective_tfvars()
    differing = {tool for tool, names in module_inputs().items()
                 if any(mine.get(name) != theirs.get(name) for name in names)}
    differing |= {tool for tool in TOOLS
                  if scenario.local.python.get(tool) != base.local.python.get(tool)}
    if scenario.local.github != base.local.github:
        differing.add("jupyterhub")
    return frozenset(differing)
