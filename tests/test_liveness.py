"""The liveness gate with a real Dask scheduler: alive, then killed mid-run, then known dead."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from harness.launchers.base import free_port
from harness.probes import public
from harness.wait import wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytest_plugins = ["pytester"]

CHECKS = '''
import os, pathlib, signal
import pytest
from distributed import Client

CHECK_IDS = ("dask.alive", "dask.killed", "dask.after", "journey.needs-dask")

def ran(name):
    pathlib.Path(os.environ["RAN_DIR"], name).touch()

@pytest.mark.check("dask.alive")
def test_alive(stack):
    ran("alive")

@pytest.mark.check("dask.killed")
def test_killed(stack):
    ran("killed")
    os.kill(int(os.environ["SCHEDULER_PID"]), signal.SIGKILL)
    import socket, time
    address = stack.tools["dask"].endpoints["scheduler"].removeprefix("tcp://").split(":")
    while True:
        with socket.socket() as sock:
            if sock.connect_ex((address[0], int(address[1]))) != 0:
                break
        time.sleep(0.1)
    Client(stack.tools["dask"].endpoints["scheduler"], timeout=3)

@pytest.mark.check("dask.after")
def test_after(stack):
    ran("after")  # must not run: the gate knows the scheduler is dead

@pytest.mark.check("journey.needs-dask", requires=("dask",))
def test_journey(stack):
    ran("journey")
'''


@pytest.fixture
def scheduler() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", str(port), "--dashboard-address", f"127.0.0.1:{free_port()}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    address = f"tcp://127.0.0.1:{port}"
    try:
        wait_until(lambda: _listening(port), timeout_s=120, what="dask scheduler")
        yield process, address
    finally:
        process.kill()
        process.wait()


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_a_tool_that_dies_mid_run_fails_its_remaining_checks_at_once(
    pytester: pytest.Pytester, tmp_path: Path,
    scheduler: tuple[subprocess.Popen[bytes], str],
) -> None:
    process, address = scheduler
    stack = tmp_path / "stack.json"
    stack.write_text(json.dumps({"target": "external", "scenario": "s", "tools": {
        "dask": {"endpoints": {"scheduler": address}}}}), encoding="utf-8")
    ran = tmp_path / "ran"
    ran.mkdir()
    pytester.makepyfile(test_checks=CHECKS)
    results = tmp_path / "results.json"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RAN_DIR", str(ran))
        env.setenv("SCHEDULER_PID", str(process.pid))
        outcome = pytester.runpytest_subprocess(
            "--stack", str(stack), "--results", str(results), "--reruns", "1",
            "-p", "no:randomly")
    assert outcome.ret == 1
    checks = {c["id"]: c for c in json.loads(results.read_text(encoding="utf-8"))["checks"]}
    assert checks["dask.alive"]["status"] == "pass"
    assert checks["dask.killed"]["status"] == "error"
    dead = f"dask: scheduler {address} does not answer: Connection refused"
    for ident in ("dask.after", "journey.needs-dask"):
        assert checks[ident]["status"] == "error", checks[ident]
        assert dead in checks[ident]["message"]
    # Only the check that met the death is retried; the gate's verdicts are not.
    assert outcome.parseoutcomes().get("rerun") == 1
    assert sorted(p.name for p in ran.iterdir()) == ["alive", "killed"]


def test_messages_never_show_credentials_of_a_url() -> None:
    assert public("redis://:s3cret@127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert public("http://user:pw@host/api") == "http://host/api"
    assert public("tcp://127.0.0.1:8786") == "tcp://127.0.0.1:8786"
    assert public("https://hub.example.org/hub?token=abc#x") == "https://hub.example.org/hub"
    assert public("http://u:p@[::1]:8080/x") == "http://[::1]:8080/x"
