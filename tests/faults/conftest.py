"""Fixtures of the fault tests: a real stack started once per module, and services to break
it with (a closed port, an HTTP server that is not the tool).
"""

from __future__ import annotations

import contextlib
import http.server
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from harness.launchers.base import free_port
from harness.scenario import load_scenario
from harness.secrets import SecretStore, run_secrets
from harness.targets.local import LocalTarget

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from harness.stack import Stack
    from harness.supervisor import Supervisor

# Servers start slowly on a loaded two-core machine: wait for them rather than fail.
READY_TIMEOUT_S = "300"


class _Quiet:
    def component(self, name: str, status: str, detail: str = "") -> None:
        """Print nothing."""


@dataclass
class Started:
    """A running stack: its target (whose supervisor a fault may use), Stack and stack file."""

    target: LocalTarget
    stack: Stack
    stack_file: Path
    directory: Path

    @property
    def supervisor(self) -> Supervisor:
        """The supervisor of the stack's processes."""
        assert self.target.supervisor is not None
        return self.target.supervisor


@contextlib.contextmanager
def started(directory: Path, tools: set[str], scenario: str = "defaults",
            **tfvars: object) -> Iterator[Started]:
    """Start `tools` of `scenario` (with `tfvars` overridden) on the local target, as a run
    does; stop everything at the end.
    """
    loaded = load_scenario(scenario)
    loaded.tfvars.update(tfvars)
    secrets = SecretStore(directory / "secrets")
    for name, value in run_secrets(loaded).items():
        secrets.put(name, value)
    target = LocalTarget(f"local://?ready_timeout_s={READY_TIMEOUT_S}",
                         {"ready_timeout_s": READY_TIMEOUT_S})
    target.prepare(loaded, directory, secrets, frozenset(tools))
    secrets.write_files()
    try:
        stack = target.up(loaded, directory, _Quiet())
        stack.base_dir = directory
        stack_file = directory / "stack.json"
        stack.save(stack_file)
        yield Started(target, stack, stack_file, directory)
    finally:
        target.down(_Quiet())
        secrets.remove_files()


@pytest.fixture(scope="module")
def closed_port() -> str:
    """`127.0.0.1:PORT` where nothing listens."""
    return f"127.0.0.1:{free_port()}"


class _NotTheTool(http.server.BaseHTTPRequestHandler):
    """Answers every request 404, as a service that is not the tool would."""

    def _answer(self) -> None:
        body = b'{"detail": "not this service"}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:
        """Log nothing."""


@pytest.fixture(scope="module")
def other_service() -> Iterator[str]:
    """`http://127.0.0.1:PORT` of an HTTP service that is not the tool under test."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _NotTheTool)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
