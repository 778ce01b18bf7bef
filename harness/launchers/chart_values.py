"""A module's Helm values as its charts would get them: Terraform's rendering of the module for
the scenario, merged over each chart's own defaults as Helm merges them.

The local target configures every tool from these values, never from the scenario directly,
while the checks' expectations come from the scenario: a module that drops or misspells a
value changes what runs, and a check sees the difference.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.config import ENV_TERRAFORM_DIR
from harness.errors import BadInputError, ModuleDefectError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from harness.scenario import Scenario
    from harness.secrets import SecretStore
    from harness.static.render import Rendered


def terraform_dir() -> Path | None:
    """The root module to render instead of the project's `terraform/` (`HARNESS_TERRAFORM_DIR`).

    Raises:
        BadInputError: the directory holds no root module.
    """
    configured = os.environ.get(ENV_TERRAFORM_DIR)
    if not configured:
        return None
    path = Path(configured).expanduser()
    if not (path / "variables.tf").is_file() or not (path / "modules").is_dir():
        msg = (f"{ENV_TERRAFORM_DIR}={configured!r}: not a root module (no variables.tf and "
               "modules/ there); point it at a copy of terraform/, or unset it")
        raise BadInputError(msg)
    return path


@dataclass(frozen=True)
class ChartValues:
    """One module's releases and the values each chart gets: `{release: values}`."""

    module: str = ""
    releases: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, rendered: Rendered, module: str) -> ChartValues:
        """The values `module`'s releases get: rendered values over their chart's defaults."""
        from harness.static.chart_source import chart_data  # noqa: PLC0415
        from harness.static.contract import merge_values  # noqa: PLC0415

        merged: dict[str, Mapping[str, Any]] = {}
        for release in rendered.releases:
            if release.module != module:
                continue
            try:
                # Offline (no package, only its contract) the chart's defaults are unknown.
                defaults = chart_data(release.chart, release.version, release.repository).defaults
            except FileNotFoundError:
                defaults = {}  # the values contract reports the missing chart data
            merged[release.name] = merge_values(defaults, release.values)
        return cls(module, merged)

    def get(self, release: str, path: str, default: Any = None) -> Any:
        """The value at the dotted `path` of `release` (e.g. `worker.replicas`), or `default`
        where neither the module nor the chart sets one.

        Raises:
            ModuleDefectError: the module rendered no such release.
        """
        if release not in self.releases:
            have = ", ".join(sorted(self.releases)) or "none"
            msg = (f"{self.module or 'a tool'}: its module rendered no values for release "
                   f"{release!r} (rendered: {have}); the local target runs what the module "
                   "renders, see terraform/modules/<tool>/values")
            raise ModuleDefectError(msg)
        node: Any = self.releases[release]
        for key in path.split("."):
            if not isinstance(node, dict) or node.get(key) is None:
                return default
            node = node[key]
        return node


def render_for(scenario: Scenario, secrets: SecretStore) -> Rendered:
    """Render the scenario's modules as a run does, with the run's secrets from `secrets`
    (generated there first where missing), for callers that build a target outside a run.
    """
    from harness.secrets import run_secrets  # noqa: PLC0415

    values = {}
    for name, generated in run_secrets(scenario).items():
        try:
            values[name] = secrets.get(name)
        except KeyError:
            secrets.put(name, generated)
            values[name] = generated
    from harness.static.render import RenderError  # noqa: PLC0415
    from harness.static_stage import render_failure  # noqa: PLC0415

    root = terraform_dir()
    try:
        return _render(json.dumps(scenario.tfvars, sort_keys=True),
                       json.dumps(values, sort_keys=True), str(root) if root else "")
    except RenderError as exc:
        raise render_failure(scenario, exc) from exc


@functools.lru_cache(maxsize=16)
def _render(tfvars: str, secrets: str, root: str) -> Rendered:
    # Rendering takes seconds; tests build many launchers of one scenario.
    from harness.static.render import render_scenario  # noqa: PLC0415

    return render_scenario(json.loads(tfvars), secrets=json.loads(secrets),
                           terraform_dir=Path(root) if root else None)
