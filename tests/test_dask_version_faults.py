"""Dask checks against real faults: a worker from another Python environment (another
`distributed`) joins after the stack was described, and a worker is lost during the checks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

import pytest

from harness.checks_runner import pytest_argv
from harness.envs import HARNESS_PINS_ENV, uv_binary
from harness.launchers.base import ProcessSpec, free_port
from harness.launchers.dask import DaskLauncher
from tests import launching

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from harness.supervisor import Supervisor

pytestmark = pytest.mark.integration
OURS = version("distributed")
OTHER_DISTRIBUTED = "2026.1.2"  # any release other than the harness's own


def started(tmp_path: Path, replicas: int) -> tuple[Supervisor, DaskLauncher, Path]:
    """A scheduler and `replicas` workers; the stack file describing them."""
    supervisor = launching.supervisor(tmp_path)
    launcher = DaskLauncher(launching.context(tmp_path, "dask", worker_replicas=replicas))
    launching.start(supervisor, launcher)
    entry = launcher.entry()
    entry.versions = launcher.versions(entry)
    stack = {"target": "local://", "scenario": "defaults",
             "tools": {"dask": entry.model_dump()}}
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(stack), encoding="utf-8")
    return supervisor, launcher, path


def run_checks(tmp_path: Path, stack: Path, selection: str,
               env: dict[str, str] | None = None) -> tuple[int, dict[str, dict[str, Any]]]:
    """Run the Dask checks selected by `-k selection`; exit code and results by check id."""
    results = tmp_path / "results.json"
    argv = pytest_argv(stack, results, 0, ["-k", selection])
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, **(env or {})})
    document = json.loads(results.read_text(encoding="utf-8"))
    return done.returncode, {c["id"]: c for c in document["checks"]}


@pytest.fixture(scope="module")
def other_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Python environment with another release of dask and distributed, built with uv."""
    env_dir = tmp_path_factory.mktemp("other-dask") / "env"
    clean = {k: v for k, v in os.environ.items() if k not in HARNESS_PINS_ENV}
    uv = uv_binary()
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(env_dir)], env=clean,
                   check=True, timeout=120)
    python = env_dir / "bin" / "python"
    subprocess.run([uv, "pip", "install", "-q", "--python", str(python),
                    f"distributed=={OTHER_DISTRIBUTED}", f"dask=={OTHER_DISTRIBUTED}"],
                   env=clean, check=True, timeout=600)
    return python


@pytest.fixture(scope="module")
def dask_stack(tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[tuple[Supervisor, DaskLauncher, Path]]:
    """One scheduler and two workers for the module; its tests run in file order, the one that
    kills a worker last.
    """
    supervisor, launcher, path = started(tmp_path_factory.mktemp("dask"), replicas=2)
    try:
        yield supervisor, launcher, path
    finally:
        supervisor.stop_all()


def stack_copy(stack: Path, tmp_path: Path, **changes: Any) -> Path:
    """The stack file in `tmp_path`, with Dask's entry updated by `changes`."""
    document = json.loads(stack.read_text(encoding="utf-8"))
    for key, value in changes.items():
        document["tools"]["dask"][key].update(value)
    copy = tmp_path / "stack.json"
    copy.write_text(json.dumps(document), encoding="utf-8")
    return copy


def test_a_wrong_claim_of_the_target_fails_the_version_check(
    tmp_path: Path, dask_stack: tuple[Supervisor, DaskLauncher, Path],
) -> None:
    stack = stack_copy(dask_stack[2], tmp_path,
                       versions={"scheduler": "2024.1.0", "workers": "2024.1.0"})
    code, checks = run_checks(tmp_path, stack, "versions")
    message = checks["dask.versions"]["message"]
    assert code == 1
    assert "dask: versions of client, scheduler and workers disagree: scheduler reports " \
        f"{OURS}, but the target says it runs 2024.1.0" in message


def test_a_worker_of_another_distributed_fails_the_version_check(
    tmp_path: Path, other_python: Path, dask_stack: tuple[Supervisor, DaskLauncher, Path],
) -> None:
    supervisor, launcher, stack = dask_stack
    # Joins after the stack was described: the check reads the workers when it runs.
    port = free_port()
    other = supervisor.start(ProcessSpec(
        name="dask-other", health_url=f"http://127.0.0.1:{port}/health",
        argv=[str(other_python), "-m", "distributed.cli.dask_worker", launcher.scheduler_address,
              "--name", "other", "--host", "127.0.0.1", "--nthreads", "1",
              "--dashboard-address", f"127.0.0.1:{port}",
              "--local-directory", str(tmp_path / "other")], timeout_s=120))
    try:
        code, checks = run_checks(tmp_path, stack, "versions")
    finally:
        assert other.executor.process is not None
        os.killpg(other.executor.process.pid, signal.SIGKILL)
    failed = checks["dask.versions"]
    assert (code, failed["status"]) == (1, "fail"), failed
    message = failed["message"]
    assert "dask: versions of client, scheduler and workers disagree: dask differs" in message
    assert f"distributed differs: {{'client': '{OURS}'" in message
    assert f"reports {OTHER_DISTRIBUTED}, but the target says it runs {OURS}" in message


KILLER = '''
import os, signal

def pytest_runtest_teardown(item):
    if item.name == "test_worker_count":
        os.killpg(int(os.environ["KILL_PGID"]), signal.SIGKILL)
'''


def test_a_worker_lost_during_the_checks_is_noticed(
    tmp_path: Path, dask_stack: tuple[Supervisor, DaskLauncher, Path],
) -> None:
    supervisor = dask_stack[0]
    stack = stack_copy(dask_stack[2], tmp_path, expect={"workers": 2})
    (tmp_path / "worker_killer.py").write_text(KILLER, encoding="utf-8")
    victim = next(r for r in supervisor.running if r.spec.name == "dask-worker-1")
    assert victim.executor.process is not None
    code, checks = run_checks(
        tmp_path, stack, "worker_count or array or no_worker_lost",
        env={"KILL_PGID": str(victim.executor.process.pid),
             "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
             "PYTEST_PLUGINS": "worker_killer"})
    assert checks["dask.worker-count"]["status"] == "pass"
    lost = checks["dask.workers-kept"]
    assert (code, lost["status"]) == (1, "fail"), checks
    assert "dask: expected every worker of the start still connected after the checks" \
        in lost["message"]
    assert "lost ['worker-1 (tcp://127.0.0.1:" in lost["message"]
