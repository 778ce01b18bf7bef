"""Faults of a running JupyterHub (its configuration changed and the hub restarted, or the
stack file pointing elsewhere), each caught by the check that guards against it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.faults.conftest import Started, started
from tests.faults.framework import assert_caught, broken_copy, run_check, write_stack

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = [pytest.mark.faults, pytest.mark.integration]
SPAWNER_ERROR = "spawner fault: no notebook here"
# Lines appended to the hub's generated jupyterhub_config.py, one broken behaviour each.
ANY_PASSWORD = ["c.DummyAuthenticator.password = ''"]  # empty: every password logs in
BROKEN_SPAWNER = [f"c.Spawner.cmd = [{sys.executable!r}, '-c', "
                  f"{f'import sys; sys.exit({SPAWNER_ERROR!r})'!r}]"]
NO_STORAGE = ["c.Spawner.pre_spawn_hook = None"]  # the volume is never mounted
KERNEL_ERROR = "kernel fault: no interpreter"


def broken_kernel(directory: Path) -> list[str]:
    """Configuration lines giving users' servers a `python3` kernel that exits at start."""
    spec = directory / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-c", f"import sys; sys.exit({KERNEL_ERROR!r})",
            "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps(
        {"argv": argv, "display_name": "Python 3", "language": "python"}), encoding="utf-8")
    return [f"c.Spawner.environment = {{'JUPYTER_PATH': {str(directory)!r}}}"]
LEAKING_STOP = [
    "from jupyterhub.spawner import SimpleLocalProcessSpawner",
    "class LeakingSpawner(SimpleLocalProcessSpawner):",
    "    async def stop(self, now=False):",
    "        pass  # forgets the process: the server outlives its stop",
    "c.JupyterHub.spawner_class = LeakingSpawner",
]


class Hub:
    """The started hub and the configuration fault now in effect."""

    def __init__(self, stack: Started) -> None:
        self.stack = stack
        self.config = stack.directory / "state" / "jupyterhub" / "jupyterhub_config.py"
        self.original = self.config.read_text(encoding="utf-8")
        self.fault: list[str] = []

    def configure(self, lines: list[str]) -> None:
        """Restart the hub with `lines` appended to its configuration (none: as deployed)."""
        if lines == self.fault:
            return
        self.config.write_text("\n".join([self.original, *lines, ""]), encoding="utf-8")
        self.stack.supervisor.restart("jupyterhub")
        self.fault = lines


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """The defaults scenario's hub and proxy, shared by the module's faults."""
    with started(tmp_path_factory.mktemp("jupyterhub"), {"jupyterhub"}) as stack:
        yield Hub(stack)


def test_other_service_on_the_endpoint(hub: Hub, other_service: str) -> None:
    broken = broken_copy(hub.stack.stack)
    broken.tools["jupyterhub"].endpoints["hub"] = other_service
    verdict = run_check(write_stack(broken, hub.stack.directory, "other"),
                        keyword="test_api_version or unauthenticated")
    assert_caught(verdict, "jupyterhub.api-version:other-service", "jupyterhub.api-version",
                  says=("answers, but not as jupyterhub", "GET /hub/api", "HTTP 404"))
    assert_caught(verdict, "jupyterhub.api-auth:other-service", "jupyterhub.api-auth",
                  says=("answers, but not as jupyterhub", "HTTP 404"))


def test_wrong_password_in_the_stack_file(hub: Hub, tmp_path: Path) -> None:
    hub.configure([])
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "dummy_password").write_text("not-the-hubs-password\n")
    stack = json.loads(hub.stack.stack_file.read_text(encoding="utf-8"))
    for entry in stack["tools"].values():  # only the password is copied beside the new file
        entry["endpoints"].pop("restart", None)
        entry["credentials"].pop("restart", None)
    (tmp_path / "stack.json").write_text(json.dumps(stack), encoding="utf-8")
    verdict = run_check(tmp_path / "stack.json", keyword="login_gives_session")
    assert_caught(verdict, "jupyterhub.login:wrong-password-in-stack", "jupyterhub.login",
                  says=("GET /hub/home with the session", "expected 200, got 302"))


def test_hub_that_accepts_any_password(hub: Hub) -> None:
    hub.configure(ANY_PASSWORD)
    verdict = run_check(hub.stack.stack_file, keyword="wrong_password_refused")
    assert_caught(verdict, "jupyterhub.login-refused:any-password", "jupyterhub.login-refused",
                  says=("a redirect to the login page without a session", "got '200"))


def test_broken_spawner(hub: Hub) -> None:
    hub.configure(BROKEN_SPAWNER)
    verdict = run_check(hub.stack.stack_file, keyword="spawn_reaches_ready")
    assert_caught(verdict, "jupyterhub.spawn:broken-spawner", "jupyterhub.spawn",
                  says=("POST .../server", "spawner output", SPAWNER_ERROR))


def test_kernel_that_cannot_start(hub: Hub, tmp_path: Path) -> None:
    hub.configure(broken_kernel(tmp_path))
    verdict = run_check(hub.stack.stack_file, keyword="kernel_executes")
    assert_caught(verdict, "jupyterhub.kernel:kernel-cannot-start", "jupyterhub.kernel",
                  says=("expected a websocket to kernel",))


def test_storage_not_mounted(hub: Hub) -> None:
    hub.configure(NO_STORAGE)
    verdict = run_check(hub.stack.stack_file, keyword="storage_writable")
    assert_caught(verdict, "jupyterhub.storage:not-mounted", "jupyterhub.storage",
                  says=("is a directory and writable", "got ['False', 'False']"))


def test_storage_that_is_not_a_volume(hub: Hub) -> None:
    """Where the target says the user's storage is a volume (a cluster's claim), a plain
    directory of the server's own (here: the local target's) fails: its files would die with
    the pod.
    """
    hub.configure([])
    broken = broken_copy(hub.stack.stack)
    broken.tools["jupyterhub"].expect["storage_volume"] = True
    verdict = run_check(write_stack(broken, hub.stack.directory, "volume"),
                        keyword="storage_writable")
    assert_caught(verdict, "jupyterhub.storage:not-a-volume", "jupyterhub.storage",
                  says=("to be a mounted volume on this machine",
                        "a directory of the pod's own"))


def test_stop_that_leaves_the_server_running(hub: Hub) -> None:
    hub.configure(LEAKING_STOP)
    verdict = run_check(hub.stack.stack_file, keyword="stop_server_stops_process")
    assert_caught(verdict, "jupyterhub.stop-server:leaking-stop", "jupyterhub.stop-server",
                  says=("server process", "to exit within 30s", "still running"))
