"""Dask: the cluster the scenario asked for, computing known answers on its workers.

The checks' client runs the workers' version, as a user's notebook image built for the cluster
would (`harness.dask_client`): distributed wants client, scheduler and workers of one version.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import pytest

from harness.checks import expect, expect_equal
from harness.dask_client import DaskClient, DaskClientError, client_python
from harness.errors import WaitTimeoutError
from harness.host_facts import host_of
from harness.versioning import version_problems
from harness.wait import wait_until

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from harness.stack import Stack

pytestmark = pytest.mark.dask
# The checks this module runs; collection fails unless they match its checks exactly.
CHECK_IDS = (
    "dask.connect",
    "dask.worker-count",
    "dask.worker-environment",
    "dask.array",
    "dask.dataframe",
    "dask.versions",
    "dask.workers-kept",
)
# Packages whose versions must agree between client, scheduler and workers for pickling to work.
MATCHING_PACKAGES = ("dask", "distributed", "cloudpickle", "msgpack", "toolz")
COMPUTE_TIMEOUT_S = 120  # a result that takes longer is a stuck cluster, not a slow machine


@pytest.fixture(scope="module")
def client(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskClient]:
    """A client of the workers' version for the stack's scheduler."""
    log = tmp_path_factory.mktemp("dask-client") / "client.log"
    with DaskClient(client_python(stack), stack.tools["dask"].endpoints["scheduler"],
                    log) as connected:
        yield connected


@pytest.fixture(scope="module")
def expected_workers(stack: Stack) -> int:
    """How many workers the scenario asked for."""
    return int(stack.tools["dask"].expect["workers"])


@pytest.mark.check("dask.connect")
def test_client_connects(client: DaskClient) -> None:
    """A client connects and the scheduler answers with its identity."""
    try:
        info = client.ask("identity")
    except DaskClientError as exc:
        raise AssertionError(f"dask: expected a client connected to {client.scheduler}, "
                             f"got {exc}") from None
    expect_equal("dask", "scheduler type", "Scheduler", info.get("type"))
    expect("dask", info.get("status") == "running", "client status 'running'",
           info.get("status"))


def connected_workers(client: DaskClient) -> dict[str, str]:
    """The workers connected to the scheduler now: address -> name."""
    workers: dict[str, str] = client.ask("workers")
    return workers


@pytest.fixture(scope="module")
def starting_workers(client: DaskClient, expected_workers: int) -> dict[str, str]:
    """The workers when the Dask checks start, once `worker_replicas` have joined (or 30 s
    passed); `dask.workers-kept` compares the workers at the end with them.
    """
    # On a timeout the checks report the count that was reached.
    with contextlib.suppress(WaitTimeoutError):
        wait_until(lambda: len(connected_workers(client)) >= expected_workers, timeout_s=30,
                   what="dask workers")
    return connected_workers(client)


@pytest.mark.check("dask.worker-count")
def test_worker_count(client: DaskClient, expected_workers: int,
                      starting_workers: dict[str, str]) -> None:
    """The number of workers equals `worker_replicas`."""
    expect_equal("dask", "number of workers", expected_workers, len(connected_workers(client)))


@pytest.mark.check("dask.worker-environment")
def test_worker_environment(client: DaskClient, stack: Stack) -> None:
    """Every worker process sees the scenario's `worker_environment_variables`, as it reads
    them and as the kernel holds them where it runs (inside its pod on a cluster).
    """
    wanted: dict[str, str] = stack.tools["dask"].expect.get("worker_environment", {})
    expect("dask", wanted, "the scenario to set at least one worker environment variable")

    seen: dict[str, Any] = client.ask("environments", names=sorted(wanted))
    expect("dask", seen, "at least one worker to answer")
    for worker, (environment, hostname, pid) in sorted(seen.items()):
        expect_equal("dask", f"environment of worker {worker} as it reads it", wanted,
                     environment)
        # Read again where the worker runs (in its pod on a cluster): what it was started
        # with, so a variable set only inside the process does not pass for the chart's.
        place = host_of(stack, "dask", hostname)
        started = place.process_environment(pid)
        expect_equal("dask", f"environment of worker {worker} (process {pid}) read "
                     f"{place.where}", wanted, {name: started.get(name) for name in wanted})


def computed(client: DaskClient, op: str, what: str, **args: Any) -> Any:
    """The answer of computation `op` on the workers; a cluster without workers, or whose
    workers do not compute, fails the check instead of waiting forever.
    """
    workers = sorted(connected_workers(client))
    expect("dask", workers, f"a worker to compute {what} on", workers)
    try:
        return client.ask(op, timeout_s=COMPUTE_TIMEOUT_S, **args)
    except TimeoutError:
        msg = (f"dask: expected {what} computed within {COMPUTE_TIMEOUT_S}s by workers "
               f"{workers}, got no result")
        raise AssertionError(msg) from None


@pytest.mark.check("dask.array")
def test_array_computation(client: DaskClient) -> None:
    """A chunked dask.array reduction returns the closed-form answer, computed on workers."""
    n = 2_000_000
    expect_equal("dask", "sum of 0..n-1", n * (n - 1) // 2,
                 computed(client, "arange_sum", "sum of 0..n-1", n=n, chunk=100_000))
    expect_equal("dask", "sum of ones @ ones.T", 1_000 ** 3,
                 computed(client, "ones_product_sum", "sum of ones @ ones.T", size=1_000,
                          block=250))
    processing = client.ask("executed")
    expect("dask", sum(processing.values()) > 0, "tasks executed on workers", processing)


@pytest.mark.check("dask.dataframe")
def test_dataframe_computation(client: DaskClient) -> None:
    """A dask.dataframe group-by over several partitions returns the aggregates pandas computes
    here, in the harness, from the same rows.
    """
    import pandas as pd

    frame = pd.DataFrame({"key": [i % 4 for i in range(10_000)], "value": range(10_000)})
    result = computed(client, "group_sums", "group sums", keys=frame["key"].tolist(),
                      values=frame["value"].tolist(), partitions=8)
    expected = frame.groupby("key")["value"].sum()
    expect_equal("dask", "group sums", {str(key): int(value) for key, value in
                                        expected.items()}, result)


@pytest.mark.check("dask.versions")
def test_versions_match(
    stack: Stack, client: DaskClient, record_version: Callable[[str, str, str], None]
) -> None:
    """Client, scheduler and every worker connected now run matching package versions, and
    the scheduler and workers run the `distributed` the target says they run and that is
    installed where each worker runs (inside its pod on a cluster); all recorded.
    """
    versions = client.ask("versions")
    sides: dict[str, dict[str, Any]] = {"client": versions["client"]["packages"],
                                        "scheduler": versions["scheduler"]["packages"]}
    workers = {address: str(info["packages"]["distributed"])
               for address, info in versions["workers"].items()}
    expect("dask", workers, "at least one worker to report its versions")
    for address, info in versions["workers"].items():
        sides[f"worker {address}"] = info["packages"]
    scheduler = str(sides["scheduler"]["distributed"])
    record_version("dask", "client", str(sides["client"]["distributed"]))
    record_version("dask", "scheduler", scheduler)
    record_version("dask", "workers", ", ".join(sorted(set(workers.values()))))
    problems = []
    for package in MATCHING_PACKAGES:
        seen = {side: str(packages.get(package)) for side, packages in sides.items()}
        if len(set(seen.values())) > 1:
            problems.append(f"{package} differs: {seen}")
    claimed = stack.tools["dask"].versions
    problems += version_problems("scheduler", scheduler, claimed=claimed.get("scheduler"))
    for address, version in sorted(workers.items()):
        problems += version_problems(f"worker {address}", version, claimed=claimed.get("workers"))
    problems += _installed_problems(stack, client, workers)
    if problems:
        raise AssertionError("dask: versions of client, scheduler and workers disagree: "
                             + "; ".join(problems))


def _installed_problems(stack: Stack, client: DaskClient, reported: dict[str, str]
                        ) -> list[str]:
    """Where each worker runs (inside its pod on a cluster): `distributed` as installed for
    the worker's interpreter, against the version the worker reports.
    """
    problems = []
    for address, (hostname, python) in sorted(client.ask("places").items()):
        spot = host_of(stack, "dask", hostname)
        installed = spot.installed_version(python, "distributed")
        if address in reported and installed != reported[address]:
            problems.append(f"worker {address} reports distributed {reported[address]} but "
                            f"{python} {spot.where} has {installed} installed")
    return problems


# Last in the module on purpose: a worker lost during any Dask check above is noticed here.
@pytest.mark.check("dask.workers-kept")
def test_no_worker_lost(client: DaskClient, starting_workers: dict[str, str]) -> None:
    """Every worker connected when the Dask checks started is still connected at their end.

    Compared by address, not by count: a worker that died and was replaced is named too.
    """
    now = connected_workers(client)
    lost = {address: name for address, name in starting_workers.items() if address not in now}
    expect("dask", not lost, "every worker of the start still connected after the checks",
           f"lost {sorted(f'{name} ({address})' for address, name in lost.items())}; "
           f"connected now {sorted(now.values())}")
