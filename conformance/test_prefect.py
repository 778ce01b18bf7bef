"""Prefect: the API, flow runs and their results, the work pool's worker, tasks on Dask."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from harness.checks import expect, expect_equal
from harness.dask_client import DaskClient, DaskClientError, client_python
from harness.errors import WaitTimeoutError
from harness.flow_code import flow_source
from harness.flow_env import flow_python
from harness.versioning import expect_versions
from harness.wait import wait_until

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from harness.stack import Stack

pytestmark = pytest.mark.prefect
# The checks this module runs; collection fails unless they match its checks exactly.
CHECK_IDS = (
    "prefect.health",
    "prefect.flow-run",
    "prefect.failed-flow",
    "prefect.worker",
    "prefect.deployment-run",
    "prefect.dask-task-runner",
)
FLOWS = Path(__file__).parent / "flows"
DEPLOYMENT_TIMEOUT_S = 240  # a process worker starts a fresh interpreter per run: slow on 2 cores
# A starting worker reports itself online within its first heartbeat interval (30 s).
WORKER_ONLINE_TIMEOUT_S = 45


@pytest.fixture(scope="module")
def api(stack: Stack) -> str:
    """The API's base URL (`.../api`)."""
    if "prefect" not in stack.tools:
        pytest.skip("prefect is not part of this stack")
    return stack.tools["prefect"].endpoints["api"]


@pytest.fixture(scope="module")
def expected(stack: Stack) -> dict[str, Any]:
    """What the scenario asked for: whether a worker runs, its pool and queues."""
    return stack.tools["prefect"].expect if "prefect" in stack.tools else {}


@pytest.fixture(scope="module")
def client_settings(api: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point this process's Prefect client at the stack; keep its files out of ~/.prefect."""
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    home = tmp_path_factory.mktemp("prefect-home")
    with temporary_settings(updates={PREFECT_API_URL: api, PREFECT_HOME: home}):
        yield


def online_workers(api: str) -> dict[str, list[str]]:
    """The names of the workers online, by work pool, as the API reports them now."""
    pools = requests.post(f"{api}/work_pools/filter", json={}, timeout=10).json()
    online: dict[str, list[str]] = {}
    for pool in pools:
        workers = requests.post(f"{api}/work_pools/{pool['name']}/workers/filter", json={},
                                timeout=10).json()
        names = [w["name"] for w in workers if w.get("status") == "ONLINE"]
        if names:
            online[pool["name"]] = names
    return online


def _read_flow_run(flow_run_id: Any) -> Any:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id)


@pytest.mark.check("prefect.health")
def test_health_and_version(
    stack: Stack, api: str, record_version: Callable[[str, str, str], None]
) -> None:
    """The API reports itself healthy, and the version the target says it runs, of the
    client library's series.
    """
    health = requests.get(f"{api}/health", timeout=10)
    expect_equal("prefect", "GET /health", (200, True), (health.status_code, health.json()))
    version = requests.get(f"{api}/admin/version", timeout=10)
    expect_equal("prefect", "GET /admin/version status", 200, version.status_code)
    reported = str(version.json())
    expect("prefect", reported[:1].isdigit(), "a version number from /admin/version", reported)
    import prefect

    record_version("prefect", "client", prefect.__version__)
    record_version("prefect", "server", reported)
    expect_versions("prefect", "server's /admin/version", reported,
                    claimed=stack.tools["prefect"].versions.get("server"),
                    client=prefect.__version__)


@pytest.mark.check("prefect.flow-run")
@pytest.mark.usefixtures("client_settings")
def test_flow_run_result_read_back() -> None:
    """A flow run completes, and its state and result read back from the API are the same."""
    from prefect import flow

    @flow(persist_result=True)
    def add(a: int, b: int) -> int:
        return a + b

    state = add(20, 22, return_state=True)
    stored = _read_flow_run(state.state_details.flow_run_id)
    expect_equal("prefect", "state of the flow run read back", "COMPLETED", stored.state.type.value)
    expect_equal("prefect", "result read back through the API's state", 42, stored.state.result())


@pytest.mark.check("prefect.failed-flow")
@pytest.mark.usefixtures("client_settings")
def test_failing_flow_is_failed_with_its_exception() -> None:
    """A flow that raises is Failed, and the API's state carries the exception."""
    from prefect import flow

    marker = uuid.uuid4().hex[:12]

    @flow(persist_result=True)
    def explode() -> None:
        raise ValueError(f"conformance failure {marker}")

    state = explode(return_state=True)
    stored = _read_flow_run(state.state_details.flow_run_id)
    expect_equal("prefect", "state of the failed run", "FAILED", stored.state.type.value)
    message = stored.state.message or ""
    expect("prefect", "ValueError" in message and marker in message,
           f"the state message to name ValueError and {marker!r}", message)
    raised = stored.state.result(raise_on_failure=False)
    expect_equal("prefect", "exception read back", ("ValueError", f"conformance failure {marker}"),
                 (type(raised).__name__, str(raised)))


@pytest.mark.check("prefect.worker")
def test_worker_polls_the_pool_and_queues(api: str, expected: dict[str, Any]) -> None:
    """With `agent_enabled`, one worker is online in the pool, polling each label's queue;
    without it, no worker is.
    """
    pool = expected["work_pool"]
    if expected["worker"]:
        # A worker is healthy before its first heartbeat marks it online: wait, bounded.
        with contextlib.suppress(WaitTimeoutError):
            wait_until(lambda: online_workers(api).get(pool), timeout_s=WORKER_ONLINE_TIMEOUT_S,
                       what=f"a worker online in pool {pool}", interval_s=2)
    found = requests.post(f"{api}/work_pools/{pool}/workers/filter", json={}, timeout=10)
    online = [w["name"] for w in found.json() if w.get("status") == "ONLINE"] \
        if found.status_code == 200 else []
    if not expected["worker"]:
        expect_equal("prefect", f"workers online in pool {pool!r} (agent disabled)", [], online)
        return
    expect_equal("prefect", f"pool {pool!r} status", 200, found.status_code)
    expect("prefect", online, f"a worker online in pool {pool!r}", found.json())
    detail = requests.get(f"{api}/work_pools/{pool}", timeout=10).json()
    expect_equal("prefect", "work pool type", expected["work_pool_type"], detail.get("type"))
    queues = requests.post(f"{api}/work_pools/{pool}/queues/filter", json={}, timeout=10).json()
    names = {queue["name"] for queue in queues}
    for label in expected["work_queues"]:
        expect("prefect", label in names, f"work queue {label!r} for label {label!r}", names)


@pytest.mark.check("prefect.deployment-run")
@pytest.mark.usefixtures("client_settings")
def test_deployment_runs_through_the_work_pool(stack: Stack, api: str,
                                               expected: dict[str, Any]) -> None:
    """A deployment of `conformance/flows` is picked up by the worker, completes, and its
    print is in the logs read back from the API. The flow code reaches the worker as the
    target delivers it (`harness.flow_code`: where it is, or carried in the pull steps).
    """
    if not expected["worker"]:
        pytest.skip("agent_enabled = false: no worker runs, so no deployment can run")
    # Without a worker online in the pool the run would only sit Scheduled until the timeout.
    pool = expected["work_pool"]
    with contextlib.suppress(WaitTimeoutError):
        wait_until(lambda: online_workers(api).get(pool), timeout_s=WORKER_ONLINE_TIMEOUT_S,
                   what=f"a worker online in pool {pool}", interval_s=2)
    online = online_workers(api)
    expect("prefect", online.get(pool), f"a worker online in pool {pool!r} to pick up the run "
           "(online workers by pool)", online)
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.deployments import run_deployment

    queue = next(iter(expected["work_queues"]), None)
    name = f"conformance-{uuid.uuid4().hex[:8]}"
    source = flow.from_source(source=flow_source(stack, FLOWS, ("greeting.py",)),
                              entrypoint="greeting.py:greet")
    source.deploy(name=name, work_pool_name=expected["work_pool"], work_queue_name=queue,
                  build=False, push=False, print_next_steps=False, ignore_warnings=True)
    marker = uuid.uuid4().hex[:12]
    run = run_deployment(f"greet/{name}", parameters={"marker": marker},
                         timeout=DEPLOYMENT_TIMEOUT_S, poll_interval=1, as_subflow=False)
    expect_equal("prefect", f"state of {name} after its run (timeout {DEPLOYMENT_TIMEOUT_S}s)",
                 "COMPLETED", run.state.type.value if run.state else None)
    expect_equal("prefect", "work pool of the run", expected["work_pool"], run.work_pool_name)
    if queue:
        expect_equal("prefect", "work queue of the run", queue, run.work_queue_name)
    lines: list[str] = []

    def greeting_logged() -> bool:
        with get_client(sync_client=True) as client:
            logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
        lines[:] = [log.message for log in logs]
        return any(f"conformance greeting {marker}" in line for line in lines)

    # Logs reach the API in batches, possibly after the run's final state.
    with contextlib.suppress(WaitTimeoutError):
        wait_until(greeting_logged, timeout_s=30, what="the flow's logs")
    expect("prefect", greeting_logged(), "the flow's print in its logs read back from the API",
           lines[-10:])


@pytest.mark.check("prefect.dask-task-runner")
@pytest.mark.usefixtures("client_settings")
def test_tasks_run_on_dask_workers(stack: Stack, api: str,
                                   tmp_path_factory: pytest.TempPathFactory) -> None:
    """A flow with prefect-dask's DaskTaskRunner on the stack's scheduler computes the known
    answers, every task ran on one of that scheduler's workers, and the API has its run
    Completed (cross-tool). It runs where a flow of this stack would: Prefect and Dask at
    the versions the target runs (`harness.flow_env`).
    """
    if "dask" not in stack.tools:
        pytest.skip("dask is not part of this stack: the Prefect-on-Dask check needs both")
    scheduler = stack.tools["dask"].endpoints["scheduler"]
    home = tmp_path_factory.mktemp("prefect-dask")
    # One client for both readings of the cluster: whether Prefect is there, and its workers.
    with DaskClient(client_python(stack), scheduler, home / "dask-client.log") as dask:
        _skip_without_prefect(dask, scheduler)
        done = subprocess.run(
            [str(flow_python(stack).python), str(FLOWS / "dask_squares.py"), scheduler, "8"],
            capture_output=True, text=True, timeout=DEPLOYMENT_TIMEOUT_S, check=False,
            env={**os.environ, "PREFECT_API_URL": api, "PREFECT_HOME": str(home),
                 "PREFECT_LOGGING_LEVEL": "WARNING"})
        workers = set(dask.ask("workers"))
    lines = [line for line in done.stdout.splitlines() if line.startswith("result ")]
    expect("prefect", done.returncode == 0 and lines, "the flow to run and print its result",
           f"exit {done.returncode}: {' | '.join(done.stderr.strip().splitlines()[-5:])}")
    ran = json.loads(lines[-1].removeprefix("result "))
    expect_equal("prefect", f"state of the flow with the Dask task runner ({ran['message']})",
                 "COMPLETED", ran["state"])
    expect_equal("prefect", "squares computed by the tasks", [i * i for i in range(8)],
                 [value for value, _ in ran["results"]])
    stored = _read_flow_run(uuid.UUID(ran["flow_run_id"]))
    expect_equal("prefect", "state of the flow run read back from the API", "COMPLETED",
                 stored.state.type.value)
    ran_on = {address for _, address in ran["results"]}
    expect("prefect", ran_on and ran_on <= workers,
           f"every task on a worker of {scheduler}", sorted(ran_on))


def _skip_without_prefect(dask: DaskClient, scheduler: str) -> None:
    """Skip, saying where, unless Prefect imports on the scheduler and every worker."""
    try:
        where = dask.ask("importable", module="prefect")
    except DaskClientError as exc:
        msg = (f"prefect: expected the Dask scheduler {scheduler} to take the flow's tasks, "
               f"got {exc}")
        raise AssertionError(msg) from None
    workers_lacking = sum(not found for found in where["workers"].values())
    lacking = (["scheduler"] if not where["scheduler"] else []) + (
        [f"{workers_lacking} of {len(where['workers'])} workers"] if workers_lacking else [])
    if lacking:
        pytest.skip(f"Prefect is not installed on the Dask {' and '.join(lacking)}: "
                    "prefect-dask's tasks are unpickled there (by the scheduler too, since "
                    "distributed 2023.4), and the Dask chart's image does not carry it; with "
                    "an image that does (worker_image_repository, which the scheduler shares), "
                    "this check runs")
