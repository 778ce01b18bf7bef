"""An endpoint that answers as another service: every check of the tool fails, quickly, and
names the tool. The stack entries are the launchers' own (nothing is started).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from harness.scenario import load_scenario
from harness.secrets import SecretStore, run_secrets
from harness.stack import Stack
from harness.targets.local import LocalTarget
from tests.faults.framework import assert_caught, run_check, write_stack

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.faults, pytest.mark.integration]
# The tool's checks, the endpoints to point elsewhere, and which checks to leave out
# (cross-tool ones that need a second tool).
CASES = {
    "mlflow": (["tracking"], ["mlflow.health", "mlflow.experiment", "mlflow.log-run",
                              "mlflow.artifact-roundtrip", "mlflow.model-registry",
                              "mlflow.search-runs"]),
    "prefect": (["api"], ["prefect.health", "prefect.flow-run", "prefect.failed-flow",
                          "prefect.worker", "prefect.deployment-run"]),
}


def entry_stack(tmp_path: Path, tool: str, other_service: str) -> Path:
    """A stack of `tool` as the local target describes it, its endpoints on `other_service`."""
    scenario = load_scenario("defaults")
    secrets = SecretStore(tmp_path / "secrets")
    for name, value in run_secrets(scenario).items():
        secrets.put(name, value)
    target = LocalTarget("local://", {})
    target.prepare(scenario, tmp_path, secrets, frozenset({tool}))
    secrets.write_files()
    entry = target.launchers[tool].entry()
    endpoints, _checks = CASES[tool]
    for name in endpoints:
        entry.endpoints[name] = other_service + ("/api" if name == "api" else "")
    stack = Stack(target="external", scenario="defaults", tools={tool: entry},
                  base_dir=tmp_path)
    return write_stack(stack, tmp_path, f"{tool}-other")


@pytest.mark.parametrize("tool", sorted(CASES))
def test_other_service_on_the_endpoint(tmp_path: Path, other_service: str, tool: str) -> None:
    _endpoints, checks = CASES[tool]
    verdict = run_check(entry_stack(tmp_path, tool, other_service), markers=tool,
                        keyword="not dask")
    for check in checks:
        # Client libraries word some of these failures themselves (Prefect: "Could not find
        # work pool ..."); that they do not name the tool is a known gap, listed by
        # benchmarks/faults.py, not asserted here.
        assert_caught(verdict, f"{check}:other-service", check, exits=(1, 3),
                      statuses=("fail", "error"), or_names="")
