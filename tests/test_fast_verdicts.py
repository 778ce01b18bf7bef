"""Dead or impostor endpoints: every check of the tool fails at once, with the cause, no hang.

`check --stack` against (a) a stack whose every tool listens on a closed port and (b) a stack
whose every tool's endpoint is some other HTTP service (Python's `http.server`).
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import CLI

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

# A hang guard, not a speed measurement (benchmarks/ measures): checks that each waited out
# their own timeout would take tens of minutes for the lot; gated verdicts take well under a
# minute, even on a loaded two-core machine running other tests beside this one.
BOUND_S = 240.0
TOOLS = ("mlflow", "prefect", "feast", "jupyterhub", "seldon", "dask")


@pytest.fixture(scope="module")
def closed_port() -> Iterator[Any]:
    """Ports bound but not listening: connections are refused, and no one else takes them."""
    held: list[socket.socket] = []

    def port() -> int:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        held.append(sock)
        return int(sock.getsockname()[1])

    yield port
    for sock in held:
        sock.close()


@pytest.fixture(scope="module")
def other_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A plain HTTP file server: it answers every request, as something else than the tools."""
    root = tmp_path_factory.mktemp("other-service")

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()


def write_stack(directory: Path, port: Any) -> Path:
    """A stack of every tool, each endpoint at `port()`, with what the checks expect."""
    directory.mkdir()
    (directory / "password").write_text("not-used", encoding="utf-8")
    feature_store = (f"project: p\nprovider: local\nregistry: {directory}/registry.db\n"
                     f"online_store: {{type: sqlite, path: {directory}/online.db}}\n"
                     "offline_store: {type: file}\nentity_key_serialization_version: 3\n")
    tools = {
        "mlflow": {"endpoints": {"tracking": f"http://127.0.0.1:{port()}"}},
        "prefect": {"endpoints": {"api": f"http://127.0.0.1:{port()}/api"},
                    "expect": {"worker": True, "work_pool": "pool", "work_queues": [],
                               "work_pool_type": "process"}},
        "feast": {"endpoints": {"feature_server": f"http://127.0.0.1:{port()}"},
                  "expect": {"project": "p", "online_store": "sqlite", "registry": "file",
                             "feature_store_yaml": feature_store, "password_env": {}}},
        "jupyterhub": {"endpoints": {"hub": f"http://127.0.0.1:{port()}"},
                       "credentials": {"dummy_password": {"file": "password"}},
                       "expect": {"authenticator": "dummy"}},
        "seldon": {"endpoints": {"api": f"http://127.0.0.1:{port()}"},
                   "expect": {"namespace": "seldon"}},
        "dask": {"endpoints": {"scheduler": f"tcp://127.0.0.1:{port()}"},
                 "expect": {"workers": 2, "worker_environment": {"A": "1"}}},
    }
    path = directory / "stack.json"
    path.write_text(json.dumps({"schema_version": 1, "target": "external", "scenario": "faults",
                                "tools": tools}), encoding="utf-8")
    return path


def check(stack: Path) -> tuple[int, float, list[dict[str, Any]]]:
    """Run `check --stack`; return its exit code, seconds taken and the checks' results."""
    reports = stack.parent / "reports"
    started = time.monotonic()
    result = subprocess.run([*CLI, "check", "--stack", str(stack), "--reports-dir", str(reports)],
                            capture_output=True, text=True, timeout=600, check=False)
    elapsed = time.monotonic() - started
    [results] = reports.glob("*/results.json")
    checks = json.loads(results.read_text(encoding="utf-8"))["checks"]
    print(f"{stack.parent.name}: exit {result.returncode} after {elapsed:.1f}s")
    return result.returncode, elapsed, checks


def by_tool(checks: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for entry in checks:
        grouped.setdefault(entry["tool"], []).append(entry)
    return grouped


def test_closed_ports_fail_every_check_at_once(tmp_path: Path, closed_port: Any) -> None:
    code, elapsed, checks = check(write_stack(tmp_path / "closed", closed_port))
    assert code == 3
    grouped = by_tool(checks)
    assert set(TOOLS) <= set(grouped)
    for tool in TOOLS:
        for entry in grouped[tool]:
            assert entry["status"] == "error", entry
            assert f"{tool}: " in entry["message"], entry
            assert "does not answer: Connection refused" in entry["message"], entry
    [journey] = grouped["journey"]
    assert journey["status"] == "error"
    assert "mlflow: tracking http://127.0.0.1:" in journey["message"]
    assert elapsed < BOUND_S


def test_another_service_fails_every_check_as_not_the_tool(
    tmp_path: Path, other_service: int
) -> None:
    code, elapsed, checks = check(write_stack(tmp_path / "impostor", lambda: other_service))
    assert code == 1
    grouped = by_tool(checks)
    for tool in TOOLS:
        for entry in grouped[tool]:
            assert entry["status"] == "fail", entry
            assert f"{tool}: http://127.0.0.1:{other_service}" in entry["message"] \
                or f"{tool}: tcp://127.0.0.1:{other_service}" in entry["message"], entry
            assert f"answers, but not as {tool}: " in entry["message"], entry
    assert "HTTP 404" in grouped["feast"][0]["message"]
    assert elapsed < BOUND_S
