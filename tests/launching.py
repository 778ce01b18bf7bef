"""Helpers to run launchers under a real Supervisor in the project's own tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.launchers.base import LaunchContext, Launcher, ProcessSpec, TaskSpec
from harness.launchers.chart_values import ChartValues, render_for
from harness.scenario import TOOLS, load_scenario
from harness.secrets import SecretStore
from harness.supervisor import Supervisor

if TYPE_CHECKING:
    from pathlib import Path


def context(tmp_path: Path, name: str, scenario: str = "defaults",
            secrets: SecretStore | None = None, **tfvars: object) -> LaunchContext:
    """A launch context of scenario `scenario` with `tfvars` overridden, configured as a run
    configures it: from the values the modules render for that scenario.
    """
    loaded = load_scenario(scenario)
    loaded.tfvars.update(tfvars)
    store = secrets or SecretStore()
    values = ChartValues.of(render_for(loaded, store), name) if name in TOOLS else ChartValues()
    return LaunchContext(scenario=loaded, state_dir=tmp_path / "state" / name,
                         secrets=store, default_timeout_s=120, values=values)


def start(supervisor: Supervisor, launcher: Launcher) -> None:
    """Run every stage of `launcher`, as the local target does."""
    launcher.context.state_dir.mkdir(parents=True, exist_ok=True)
    for stage in launcher.processes():
        if isinstance(stage, TaskSpec):
            supervisor.run_task(stage)
            continue
        for spec in [stage] if isinstance(stage, ProcessSpec) else stage:
            supervisor.start(spec)


def supervisor(tmp_path: Path) -> Supervisor:
    """A supervisor writing its logs under `tmp_path`."""
    return Supervisor(tmp_path / "logs", tmp_path / "pids.json", on_death=lambda _m: None)

