"""Faults of a Prefect deployment's worker: none in the work pool, or one polling another pool.

The stack starts without its worker (`agent_enabled = false`), and each fault's stack file
says a worker is expected: the server marks a stopped worker offline only after ~90 s of
missed heartbeats, so a worker that never ran in the pool is the fast, honest way to have none.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from conformance.test_prefect import FLOWS
from harness.launchers.base import PythonEnv, free_port
from harness.wait import wait_until
from tests.faults.conftest import Started, started
from tests.faults.framework import assert_caught, broken_copy, run_check, write_stack

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = [pytest.mark.faults, pytest.mark.integration]
CHECKS = ("prefect.worker", "prefect.deployment-run")
KEYWORD = "worker_polls or deployment_runs"
OTHER_POOL = "another-pool"


@pytest.fixture(scope="module")
def prefect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    """The Prefect server on its PostgreSQL, with no worker; its work pool exists (as the
    worker's chart creates it), so the faults are about the worker alone.
    """
    with started(tmp_path_factory.mktemp("prefect"), {"prefect"}, agent_enabled=False) as stack:
        entry = stack.stack.tools["prefect"]
        requests.post(f"{entry.endpoints['api']}/work_pools/",
                      json={"name": entry.expect["work_pool"], "type": "process"},
                      timeout=30).raise_for_status()
        yield stack


def expecting_a_worker(prefect: Started, name: str) -> Path:
    """The stack file of a scenario whose worker should run (`agent_enabled = true`)."""
    broken = broken_copy(prefect.stack)
    broken.tools["prefect"].expect["worker"] = True
    return write_stack(broken, prefect.directory, name)


def online(api: str, pool: str) -> list[str]:
    found = requests.post(f"{api}/work_pools/{pool}/workers/filter", json={}, timeout=10)
    return [w["name"] for w in found.json() if w.get("status") == "ONLINE"] \
        if found.status_code == 200 else []


@contextlib.contextmanager
def process_worker(prefect: Started, home: Path, pool: str, name: str,
                   **environment: str) -> Iterator[str]:
    """A real process worker polling `pool`, online; killed afterwards."""
    api = prefect.stack.tools["prefect"].endpoints["api"]
    env = {**os.environ, "PREFECT_API_URL": api, "PREFECT_HOME": str(home),
           "PREFECT_WORKER_WEBSERVER_HOST": "127.0.0.1",
           "PREFECT_WORKER_WEBSERVER_PORT": str(free_port()), **environment}
    process = subprocess.Popen(
        PythonEnv().module("prefect", "worker", "start", "--pool", pool, "--type",
                           "process", "--name", name, "--install-policy", "never"),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(lambda: name in online(api, pool), timeout_s=180,
                   what=f"worker {name} online in {pool}", interval_s=1)
        yield pool
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


@pytest.fixture
def worker_on_other_pool(prefect: Started, tmp_path: Path) -> Iterator[str]:
    """A real process worker polling `OTHER_POOL`, online; killed afterwards."""
    with process_worker(prefect, tmp_path / "home", OTHER_POOL, "other-worker") as pool:
        yield pool


def test_no_worker(prefect: Started) -> None:
    pool = prefect.stack.tools["prefect"].expect["work_pool"]
    verdict = run_check(expecting_a_worker(prefect, "no-worker"), keyword=KEYWORD)
    for check in CHECKS:
        assert_caught(verdict, f"{check}:no-worker", check,
                      says=(f"a worker online in pool {pool!r}",))
    assert "got {}" in verdict.checks["prefect.deployment-run"]["message"]


def test_worker_on_other_pool(prefect: Started, worker_on_other_pool: str) -> None:
    pool = prefect.stack.tools["prefect"].expect["work_pool"]
    verdict = run_check(expecting_a_worker(prefect, "other-pool"), keyword=KEYWORD)
    for check in CHECKS:
        assert_caught(verdict, f"{check}:worker-on-other-pool", check,
                      says=(f"a worker online in pool {pool!r}",))
    assert f"'{worker_on_other_pool}': ['other-worker']" in \
        verdict.checks["prefect.deployment-run"]["message"]


def test_pool_of_another_type(prefect: Started, tmp_path: Path) -> None:
    """A worker online in the right pool, but the pool is not of the type the target's worker
    creates (a cluster's chart worker makes a `kubernetes` pool; here it is `process`).
    """
    broken = broken_copy(prefect.stack)
    broken.tools["prefect"].expect.update(worker=True, work_pool_type="kubernetes")
    stack_file = write_stack(broken, prefect.directory, "pool-type")
    pool = prefect.stack.tools["prefect"].expect["work_pool"]
    with process_worker(prefect, tmp_path / "home", pool, "typed-worker"):
        verdict = run_check(stack_file, keyword="worker_polls")
    assert_caught(verdict, "prefect.worker:pool-of-another-type", "prefect.worker",
                  says=("work pool type: expected 'kubernetes', got 'process'",))


def carrying(prefect: Started, name: str) -> Path:
    """The stack file of a cluster's delivery of flow code: carried in the pull steps."""
    carried = broken_copy(prefect.stack)
    carried.tools["prefect"].expect.update(worker=True, flow_code="carried")
    return write_stack(carried, prefect.directory, name)


def test_flow_code_carried_in_the_pull_steps_runs(prefect: Started, tmp_path: Path) -> None:
    """Not a fault: the cluster's way to deliver flow code (harness.flow_code), run by a real
    worker here. The deployment passes the check, it reads back with the carrying pull steps
    and no path of this machine, and the worker ran the flow from the files they wrote.
    """
    api = prefect.stack.tools["prefect"].endpoints["api"]
    pool = prefect.stack.tools["prefect"].expect["work_pool"]
    with process_worker(prefect, tmp_path / "home", pool, "carrying-worker"):
        verdict = run_check(carrying(prefect, "carried"), keyword="deployment_runs")
    assert verdict.checks["prefect.deployment-run"]["status"] == "pass", verdict.output[-3000:]
    deployments = requests.post(f"{api}/deployments/filter", json={}, timeout=30).json()
    (deployment,) = [d for d in deployments if d["pull_steps"] and "prefect.deployments.steps"
                     ".run_shell_script" in d["pull_steps"][0]]
    assert deployment["path"] is None
    directory = deployment["pull_steps"][1][
        "prefect.deployments.steps.set_working_directory"]["directory"]
    assert directory.startswith("/tmp/conformance-flows-")
    written = Path(directory, "greeting.py").read_text(encoding="utf-8")
    assert written == (FLOWS / "greeting.py").read_text(encoding="utf-8")


def test_flow_code_that_cannot_be_written_where_the_flow_runs(prefect: Started,
                                                               tmp_path: Path) -> None:
    """A worker whose flow runs cannot run the carrying pull step (no `sh` or `base64` on
    its PATH, as in a distroless image): the run does not complete, and the check says so.
    """
    pool = prefect.stack.tools["prefect"].expect["work_pool"]
    with process_worker(prefect, tmp_path / "home", pool, "bare-worker",
                        PATH=str(tmp_path / "empty-bin")):
        verdict = run_check(carrying(prefect, "cannot-carry"), keyword="deployment_runs")
    assert_caught(verdict, "prefect.deployment-run:code-not-delivered", "prefect.deployment-run",
                  says=("state of conformance-", "expected 'COMPLETED'"))
