"""Facts read where a process runs (`harness.host_facts`), through testinfra: its local
backend on this machine, its kubectl backend through the kubectl stand-in of tests/helpers
(`kubectl exec` into a "pod" that is this machine), as the checks read them on either target.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from harness.host_facts import host_of
from harness.k8s.kubectl import kubectl_binary
from harness.stack import HostAccess, Stack
from tests.helpers.kubectl_standin import install

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

NAMESPACE = "ci-run1-dask"
# Sets one variable inside the process after it started: the kernel's copy never sees it.
SET_INSIDE = "import os, sys, time; os.environ['SET_INSIDE'] = '1'; print('up', flush=True); " \
             "time.sleep(60)"


@pytest.fixture
def process() -> Iterator[subprocess.Popen[str]]:
    """A process started with FROM_START=yes that later sets SET_INSIDE in itself."""
    started = subprocess.Popen([sys.executable, "-c", SET_INSIDE], text=True,
                               stdout=subprocess.PIPE,
                               env={**os.environ, "FROM_START": "yes"})
    assert started.stdout is not None
    assert started.stdout.readline() == "up\n"
    yield started
    started.kill()
    started.wait()


@pytest.fixture
def kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The stand-in as HARNESS_KUBECTL, with this machine as pod `worker-0` of NAMESPACE."""
    monkeypatch.setenv("HARNESS_KUBECTL", str(install(tmp_path / "bin", "kubectl-1.32")))
    monkeypatch.setenv("KUBECTL_STANDIN_PODS", json.dumps([f"{NAMESPACE}/worker-0"]))
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", os.environ["PATH"])  # restored after the link is put first
    kubectl_binary.cache_clear()
    yield tmp_path
    kubectl_binary.cache_clear()


def _stack(access: HostAccess) -> Stack:
    return Stack(target="t", scenario="defaults", hosts=access)


def test_a_process_environment_is_what_it_was_started_with(
        process: subprocess.Popen[str]) -> None:
    place = host_of(_stack(HostAccess()), "dask", socket.gethostname())
    environment = place.process_environment(process.pid)
    assert environment["FROM_START"] == "yes"
    assert "SET_INSIDE" not in environment  # set inside the process only
    assert place.where == "on this machine"


def test_the_local_target_refuses_a_process_of_another_host() -> None:
    with pytest.raises(AssertionError, match=r"dask: expected the process on this machine .* "
                       r"got host 'worker-7f9c'"):
        host_of(_stack(HostAccess()), "dask", "worker-7f9c")


def test_a_file_and_a_mount_point_read_in_place(tmp_path: Path) -> None:
    (tmp_path / "probe.txt").write_text("payload", encoding="utf-8")
    place = host_of(_stack(HostAccess()), "jupyterhub", socket.gethostname())
    assert place.read_text(str(tmp_path / "probe.txt")) == "payload"
    assert place.read_text(str(tmp_path / "missing.txt")) is None
    assert place.is_mount_point("/proc")
    assert not place.is_mount_point(str(tmp_path))


def test_in_a_pod_through_kubectl_exec(kubectl: Path, process: subprocess.Popen[str]) -> None:
    access = HostAccess(backend="kubectl", context="minikube", namespaces={"dask": NAMESPACE})
    place = host_of(_stack(access), "dask", "worker-0")
    assert place.where == f"inside pod {NAMESPACE}/worker-0"
    assert place.process_environment(process.pid)["FROM_START"] == "yes"
    assert place.installed_version(sys.executable, "pytest") == pytest.__version__
    # testinfra runs `kubectl` by name: the chosen binary is linked under that name, first.
    first = os.environ["PATH"].split(os.pathsep)[0]
    assert os.path.realpath(f"{first}/kubectl") == str(kubectl / "bin" / "kubectl-1.32")


def test_a_pod_that_is_not_there_fails_naming_it(kubectl: Path) -> None:
    access = HostAccess(backend="kubectl", namespaces={"dask": NAMESPACE})
    place = host_of(_stack(access), "dask", "worker-9")
    with pytest.raises(AssertionError, match=(
            rf"dask: expected to read the environment of process 1 inside pod "
            rf"{NAMESPACE}/worker-9, got exit 1: .*pods \"worker-9\" not found")):
        place.process_environment(1)
