"""Facts read where a tool's process runs, not through the tool: the environment the kernel
holds for a process, a file in a user's storage, whether a path is a mounted volume. A check
compares them with what the tool itself reports, so the two readings are independent.

Through testinfra's backends, as the target says in the stack (`Stack.hosts`): its `local`
backend when the process runs on this machine (the local target), its `kubectl` backend, i.e.
`kubectl exec` into the pod in the tool's run namespace (the kubernetes target). A process
names its place by its hostname, which in a pod is the pod's name.

Public API:
    host_of(stack, tool, hostname) -> Place      raises AssertionError naming the tool
    Place.process_environment(pid) -> dict[str, str]
    Place.installed_version(python, package) -> str
    Place.read_text(path) -> str | None          None when there is no such file
    Place.is_mount_point(path) -> bool
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    from pathlib import Path

    from harness.stack import Stack


@dataclass(frozen=True)
class Place:
    """Where one process of `tool` runs, as testinfra reaches it; `where` says it in words."""

    tool: str
    where: str
    host: Any  # testinfra.host.Host

    def _run(self, what: str, command: str, *args: str) -> str:
        result = self.host.run(command, *args)
        if result.rc != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            msg = (f"{self.tool}: expected to read {what} {self.where}, got exit "
                   f"{result.rc}: {detail[-1] if detail else 'no output'}")
            raise AssertionError(msg)
        return str(result.stdout)

    def process_environment(self, pid: int) -> dict[str, str]:
        """The environment the kernel holds for process `pid` (`/proc/PID/environ`): what it
        was started with, whatever the process later tells about itself.
        """
        raw = self._run(f"the environment of process {pid}", "cat /proc/%s/environ", str(pid))
        return dict(item.partition("=")[::2] for item in raw.split("\0") if "=" in item)

    def installed_version(self, python: str, package: str) -> str:
        """The version of `package` installed for interpreter `python` there (its metadata
        on disk, not what a running process reports).
        """
        code = f"import importlib.metadata as m; print(m.version({package!r}))"
        return self._run(f"the installed {package} of {python}", "%s -c %s", python,
                         code).strip()

    def read_text(self, path: str) -> str | None:
        """The content of file `path` there, or None when it does not exist."""
        if not self.host.file(path).exists:
            return None
        return self._run(f"file {path}", "cat %s", path)

    def is_mount_point(self, path: str) -> bool:
        """Whether `path` is where a file system (a volume) is mounted there."""
        return bool(self.host.mount_point(path).exists)


def host_of(stack: Stack, tool: str, hostname: str) -> Place:
    """The place of a process of `tool` that says it runs on `hostname`.

    Raises:
        AssertionError: the local target's process runs elsewhere than this machine, or no
            kubectl can be had; names the tool.
    """
    import testinfra  # noqa: PLC0415 - loads its backends; only when a check reads facts

    access = stack.hosts
    if access.backend == "local":
        if hostname != socket.gethostname():
            msg = (f"{tool}: expected the process on this machine ({socket.gethostname()}) "
                   f"where the local target runs it, got host {hostname!r}")
            raise AssertionError(msg)
        return Place(tool, "on this machine", testinfra.get_host("local://"))
    namespace = access.namespaces.get(tool, "")
    options = {"namespace": namespace, "context": access.context or "",
               "kubeconfig": access.kubeconfig or ""}
    _kubectl_on_path(tool)
    spec = f"kubectl://{hostname}?" + urlencode({k: v for k, v in options.items() if v})
    return Place(tool, f"inside pod {namespace}/{hostname}", testinfra.get_host(spec))


def _kubectl_on_path(tool: str) -> None:
    """Put the harness's kubectl first on PATH: testinfra's backend runs `kubectl` by name."""
    from harness.k8s.kubectl import KubectlUnavailableError, kubectl_binary  # noqa: PLC0415
    from harness.layer_wheel import cache_root  # noqa: PLC0415

    try:
        binary = kubectl_binary()
    except KubectlUnavailableError as exc:
        raise AssertionError(f"{tool}: cannot read facts inside its pods: {exc}") from None
    directory = binary.parent
    if binary.name != "kubectl":  # e.g. HARNESS_KUBECTL=/opt/kubectl-1.31: link it by name
        directory = _linked(binary, cache_root() / "kubectl-by-name")
    path = os.environ.get("PATH", "")
    if not path.startswith(f"{directory}{os.pathsep}"):
        os.environ["PATH"] = f"{directory}{os.pathsep}{path}"


def _linked(binary: Path, root: Path) -> Path:
    directory = root / hashlib.sha256(str(binary.resolve()).encode()).hexdigest()[:16]
    link = directory / "kubectl"
    if not link.exists():
        directory.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # a check beside this one linked it
            link.symlink_to(binary.resolve())
    return directory
