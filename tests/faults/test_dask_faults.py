"""Faults of a running Dask cluster, each caught by the check that guards against it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from typing import TYPE_CHECKING

import pytest

from harness.dask_client import client_python
from harness.launchers._server_env import built_now, env_stages
from harness.launchers.base import PythonEnv, free_port
from harness.release_dates import resolved_as_of
from harness.wait import wait_until
from tests.faults.conftest import Started, started
from tests.faults.framework import assert_caught, broken_copy, run_check, write_stack

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = [pytest.mark.faults, pytest.mark.integration]
WORKERS = 2
# A real `distributed` of another release than the stack's (the chart's 2024.1.0) that still
# speaks its protocol, in its own cached uv environment resolved as of its release.
OTHER_DISTRIBUTED = "2024.1.1"


@pytest.fixture(scope="module")
def dask(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    """A scheduler and two workers of the defaults scenario, shared by the module's faults."""
    with started(tmp_path_factory.mktemp("dask"), {"dask"}, worker_replicas=WORKERS) as stack:
        yield stack


def other_distributed() -> PythonEnv:
    """An environment of `OTHER_DISTRIBUTED`, built on first use."""
    pins = (f"distributed=={OTHER_DISTRIBUTED}", f"dask=={OTHER_DISTRIBUTED}")
    return built_now(env_stages(f"dask-other-{OTHER_DISTRIBUTED}", pins,
                                resolved_as_of("distributed", OTHER_DISTRIBUTED)))


def workers_seen(stack: Started) -> int:
    """How many workers the scheduler knows now, asked through its RPC (which the harness's
    newer `distributed` speaks with the stack's older one; a client would not).
    """
    from distributed.core import rpc

    async def identity() -> dict[str, object]:
        async with rpc(stack.stack.tools["dask"].endpoints["scheduler"], timeout=30) as s:
            return await asyncio.wait_for(s.identity(), 30)  # type: ignore[no-any-return]

    return len(asyncio.run(identity())["workers"])  # type: ignore[arg-type]


def kill(stack: Started, component: str) -> None:
    """SIGKILL a worker and its nanny, as an OOM-killed pod dies."""
    (running,) = [r for r in stack.supervisor.running if r.spec.name == component]
    assert running.executor.process is not None
    os.killpg(running.executor.process.pid, signal.SIGKILL)


def restore(stack: Started, components: list[str]) -> None:
    """Start killed workers again and wait until the scheduler counts them all."""
    for component in components:
        stack.supervisor.restart(component)
    wait_until(lambda: workers_seen(stack) == WORKERS, timeout_s=120, what="workers back")


def extra_worker(stack: Started, python: PythonEnv, env: dict[str, str], directory: Path,
                 *options: str) -> subprocess.Popen[bytes]:
    """A worker that joins the cluster from outside the launcher: another env or version."""
    scheduler = stack.stack.tools["dask"].endpoints["scheduler"]
    process = subprocess.Popen(
        python.module("distributed.cli.dask_worker", scheduler, "--no-nanny", "--host",
                      "127.0.0.1", "--nthreads", "1", "--dashboard-address",
                      f"127.0.0.1:{free_port()}", "--local-directory", str(directory),
                      *options),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    wait_until(lambda: workers_seen(stack) == WORKERS + 1, timeout_s=120,
               what="the extra worker to join")
    return process


def stop_extra(stack: Started, process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    wait_until(lambda: workers_seen(stack) == WORKERS, timeout_s=60, what="extra worker gone")


def test_closed_port(dask: Started, closed_port: str) -> None:
    broken = broken_copy(dask.stack)
    broken.tools["dask"].endpoints["scheduler"] = f"tcp://{closed_port}"
    verdict = run_check(write_stack(broken, dask.directory, "closed"), keyword="client_connects")
    assert_caught(verdict, "dask.connect:closed-port", "dask.connect", exits=(1, 3),
                  statuses=("fail", "error"), says=(closed_port.rsplit(":", 1)[1],))


def test_killed_worker(dask: Started) -> None:
    kill(dask, "dask-worker-1")
    try:
        verdict = run_check(dask.stack_file, keyword="worker_count")
    finally:
        restore(dask, ["dask-worker-1"])
    assert_caught(verdict, "dask.worker-count:killed-worker", "dask.worker-count",
                  says=("number of workers", f"expected {WORKERS}", "got 1"))


def test_worker_without_environment(dask: Started, tmp_path: Path) -> None:
    wanted = dask.stack.tools["dask"].expect["worker_environment"]
    env = {k: v for k, v in os.environ.items() if k not in wanted}
    process = extra_worker(dask, client_python(dask.stack), env, tmp_path)
    try:
        verdict = run_check(dask.stack_file, keyword="worker_environment")
    finally:
        stop_extra(dask, process)
    name = sorted(wanted)[0]
    assert_caught(verdict, "dask.worker-environment:worker-without-env",
                  "dask.worker-environment", says=(f"expected {wanted!r}", f"'{name}': None"))


def test_worker_that_sets_its_environment_itself(dask: Started, tmp_path: Path) -> None:
    """A worker started without the variables, which a preload sets inside the process: it
    reads them back itself, but the environment it was started with (the pod's) lacks them.
    """
    wanted = dask.stack.tools["dask"].expect["worker_environment"]
    preload = tmp_path / "set_inside.py"
    preload.write_text(f"import os\nos.environ.update({wanted!r})\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in wanted}
    process = extra_worker(dask, client_python(dask.stack), env, tmp_path, "--preload",
                           str(preload))
    try:
        verdict = run_check(dask.stack_file, keyword="worker_environment")
    finally:
        stop_extra(dask, process)
    name = sorted(wanted)[0]
    assert_caught(verdict, "dask.worker-environment:set-inside-the-worker",
                  "dask.worker-environment",
                  says=("read on this machine", f"expected {wanted!r}", f"'{name}': None"))


def test_worker_whose_distributed_is_not_the_installed_one(dask: Started, tmp_path: Path
                                                           ) -> None:
    """A worker whose `distributed` comes from PYTHONPATH (code shadowing what is installed
    for its interpreter): what it reports is not what is installed where it runs.
    """
    shadow = subprocess.run(
        [str(other_distributed().python), "-c", "import distributed, pathlib; "
         "print(pathlib.Path(distributed.__file__).parents[1])"],
        capture_output=True, text=True, check=True).stdout.strip()
    process = extra_worker(dask, client_python(dask.stack),
                           {**os.environ, "PYTHONPATH": shadow}, tmp_path)
    try:
        verdict = run_check(dask.stack_file, keyword="versions_match")
    finally:
        stop_extra(dask, process)
    assert_caught(verdict, "dask.versions:distributed-not-the-installed-one", "dask.versions",
                  says=(f"reports distributed {OTHER_DISTRIBUTED} but", "installed"))


def test_worker_of_other_distributed(dask: Started, tmp_path: Path) -> None:
    process = extra_worker(dask, other_distributed(), dict(os.environ), tmp_path)
    try:
        verdict = run_check(dask.stack_file, keyword="versions_match")
    finally:
        stop_extra(dask, process)
    assert_caught(verdict, "dask.versions:worker-of-other-distributed", "dask.versions",
                  says=("versions of client, scheduler and workers disagree",
                        OTHER_DISTRIBUTED))


def test_no_workers(dask: Started) -> None:
    components = [f"dask-worker-{i}" for i in range(WORKERS)]
    for component in components:
        kill(dask, component)
    wait_until(lambda: workers_seen(dask) == 0, timeout_s=60, what="workers gone")
    try:
        verdict = run_check(dask.stack_file, keyword="array_computation or dataframe")
    finally:
        restore(dask, components)
    for check in ("dask.array", "dask.dataframe"):
        assert_caught(verdict, f"{check}:no-workers", check,
                      says=("expected a worker to compute", "got []"))
