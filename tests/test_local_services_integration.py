"""The local target end to end with Prefect, Feast and their PostgreSQL and Redis."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest

from harness.errors import ExitCode, ProvisionError
from harness.launchers import postgres as postgres_module
from harness.launchers import redis as redis_module
from harness.launchers.base import TaskSpec
from harness.scenario import load_scenario
from harness.secrets import SecretStore
from harness.targets.local import LocalTarget
from tests.conftest import CLI
from tests.test_local_integration import leftovers

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.integration

PREFECT_CHECKS = {"prefect.health", "prefect.flow-run", "prefect.failed-flow", "prefect.worker",
                  "prefect.deployment-run", "prefect.dask-task-runner"}
TASK_RUNNER = "prefect.dask-task-runner"
FEAST_CHECKS = {"feast.apply", "feast.online-sdk", "feast.online-http", "feast.unknown-entity",
                "feast.historical", "feast.online-store"}


def run(tmp_path: Path, run_id: str, tfvars: str, *args: str,
        local: str = "{}") -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run a scenario of `tfvars` (YAML lines) and return the process and its report's run."""
    scenario = tmp_path / f"{run_id}.yaml"
    scenario.write_text(f"description: {run_id}\ntfvars:\n{tfvars}\nlocal: {local}\n",
                        encoding="utf-8")
    reports = tmp_path / "reports"
    done = subprocess.run([*CLI, "run", "--scenario", str(scenario), "--reports-dir",
                           str(reports), "--run-id", run_id, *args],
                          capture_output=True, text=True, timeout=900, check=False)
    report = reports / run_id / "report.json"
    runs = json.loads(report.read_text(encoding="utf-8"))["runs"] if report.is_file() else [{}]
    assert not leftovers(reports / run_id)
    return done, runs[0]


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["status"] for c in report.get("checks", [])}


def test_labels_become_queues_and_feast_without_postgres_or_redis(tmp_path: Path) -> None:
    done, report = run(
        tmp_path, "sqlite", "  agent_prefect_labels: [gpu, etl]\n"
        "  feast_posgresql_enabled: false\n  feast_redis_enabled: false\n",
        "--tools", "prefect,feast,dask", "-m", "prefect or feast")
    assert done.returncode == 0, done.stderr[-3000:]
    got = statuses(report)
    assert {i: got.get(i) for i in PREFECT_CHECKS | FEAST_CHECKS} == \
        dict.fromkeys(PREFECT_CHECKS | FEAST_CHECKS, "pass") | {TASK_RUNNER: "skip"}
    # The Dask chart's images carry no Prefect, which prefect-dask's tasks need there.
    assert "Prefect is not installed on the Dask scheduler and 3 of 3 workers" in \
        next(c["message"] for c in report["checks"] if c["id"] == TASK_RUNNER)
    assert got["feast.store-auth"] == "skip"  # no store with a password
    # Prefect still has its PostgreSQL; Feast's stores are files, so no Redis runs.
    assert "postgres" in report["ready_s"]
    assert "redis" not in report["ready_s"]


def test_prefect_tasks_run_on_dask_servers_that_carry_prefect(tmp_path: Path) -> None:
    """Where Dask's scheduler and workers have Prefect (here: they, and Prefect, run the
    harness's interpreter, through the scenario's `local.python`), the flow's tasks run on them.
    """
    done, report = run(tmp_path, "prefect-on-dask", "  agent_enabled: false\n",
                       "--tools", "prefect,dask", "-m", "prefect", "-k", "dask",
                       local=f"{{python: {{dask: {sys.executable}, "
                             f"prefect: {sys.executable}}}}}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert statuses(report)[TASK_RUNNER] == "pass", report["checks"]


def test_agent_disabled_skips_the_deployment_check(tmp_path: Path) -> None:
    done, report = run(tmp_path, "noagent", "  agent_enabled: false\n",
                       "--tools", "prefect", "-m", "prefect")
    assert done.returncode == 0, done.stderr[-3000:]
    checks = {c["id"]: c for c in report["checks"]}
    assert checks["prefect.deployment-run"]["status"] == "skip"
    assert "agent_enabled = false" in checks["prefect.deployment-run"]["message"]
    assert checks["prefect.worker"]["status"] == "pass"  # and no worker is online
    assert "prefect-worker" not in report["ready_s"]


class _Progress:
    def component(self, name: str, status: str, detail: str = "") -> None:
        """Print nothing."""


@pytest.mark.parametrize("service", ["postgres", "redis"])
def test_service_that_cannot_start_is_an_infrastructure_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    module = postgres_module if service == "postgres" else redis_module
    monkeypatch.setattr(module, "HOST", "203.0.113.1")  # not this machine's: bind fails
    scenario = load_scenario("defaults")
    target = LocalTarget("local://", {})
    target.prepare(scenario, tmp_path, SecretStore(tmp_path / "secrets"),
                   tools=frozenset({"feast"}))
    try:
        with pytest.raises(ProvisionError, match=rf"^{service} exited") as caught:
            target.up(scenario, tmp_path, _Progress())
    finally:
        assert target.down(_Progress()) == []
    assert caught.value.exit_code == ExitCode.INFRASTRUCTURE
    assert not leftovers(tmp_path)


@pytest.mark.timeout(180)  # down() waits for the tools still starting: a task not killed hangs
def test_failure_stops_what_other_tools_are_still_preparing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Redis cannot bind while PostgreSQL is still in its initdb (made long here): the run must
    # end at once, and stop the initdb too.
    monkeypatch.setattr(redis_module, "HOST", "203.0.113.1")

    def long_initdb(_self: object) -> Iterator[TaskSpec]:
        yield TaskSpec(name="postgres-initdb", timeout_s=900,
                       argv=[sys.executable, "-c", "import time; time.sleep(900)", str(tmp_path)])

    monkeypatch.setattr(postgres_module.PostgresLauncher, "_initdb", long_initdb)
    scenario = load_scenario("defaults")
    target = LocalTarget("local://", {})
    target.prepare(scenario, tmp_path, SecretStore(tmp_path / "secrets"),
                   tools=frozenset({"feast"}))
    try:
        with pytest.raises(ProvisionError, match=r"^redis exited"):
            target.up(scenario, tmp_path, _Progress())
    finally:
        assert target.down(_Progress()) == []
    assert not leftovers(tmp_path)
