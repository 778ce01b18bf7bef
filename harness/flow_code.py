"""How a deployment's flow code reaches the worker that runs it.

The target says how in the stack (`tools.prefect.expect.flow_code`):

- `shared` (the local target): the worker runs on this machine and reads the check's flow
  directory where it is (Prefect's own local storage: a `set_working_directory` pull step);
- `carried` (a cluster): the flow-run pod cannot see this machine, so the deployment carries
  the files in its pull steps: a `run_shell_script` step writes them (base64, decoded by
  `sh` and coreutils' `base64`, which Prefect's images have) into a directory named after
  their digest, and `set_working_directory` enters it. No storage outside the stack is
  needed, and the check deploys the same way on every cluster.

Public API:
    flow_source(stack, directory, files) -> str | CarriedFlowCode   for `flow.from_source`
"""

from __future__ import annotations

import base64
import hashlib
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.stack import Stack

SHARED, CARRIED = "shared", "carried"
_REMOTE_ROOT = "/tmp"  # noqa: S108 - inside the flow-run pod: writable in Prefect's images


class CarriedFlowCode:
    """A Prefect runner storage (`prefect.runner.storage.RunnerStorage`) whose files travel
    in the deployment's pull steps.
    """

    def __init__(self, directory: Path, files: tuple[str, ...]) -> None:
        self._local = directory.resolve()
        self._files = {name: (directory / name).read_bytes() for name in files}
        digest = hashlib.sha256()
        for name, content in sorted(self._files.items()):
            digest.update(name.encode() + b"\0" + content)
        self.remote = f"{_REMOTE_ROOT}/conformance-flows-{digest.hexdigest()[:16]}"

    @property
    def destination(self) -> Path:
        """Where the files are here: `from_source` loads the flow from them at deploy time."""
        return self._local

    @property
    def pull_interval(self) -> int | None:
        """None: a one-time copy."""
        return None

    def set_base_path(self, path: Path) -> None:
        """Nothing to do: the files were read from `destination` at construction."""

    async def pull_code(self) -> None:
        """Nothing to do: the files are here; the pull steps copy them where the flow runs."""

    def to_pull_step(self) -> list[dict[str, Any]]:
        """Write every file under `remote` (each `sh -c` line: Prefect splits the script by
        lines and runs each without a shell), then work there.
        """
        lines = [f"mkdir -p {shlex.quote(self.remote)}"]
        for name, content in sorted(self._files.items()):
            encoded = base64.b64encode(content).decode()
            target = shlex.quote(f"{self.remote}/{name}")
            lines.append(f"printf %s {encoded} | base64 -d > {target}")
        script = "\n".join(f"sh -c {shlex.quote(line)}" for line in lines)
        return [
            {"prefect.deployments.steps.run_shell_script": {"script": script,
                                                            "stream_output": False}},
            {"prefect.deployments.steps.set_working_directory": {"directory": self.remote}},
        ]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CarriedFlowCode) and other._files == self._files

    # Equal by content, so unhashable, as Prefect's own storages are.
    __hash__ = None  # type: ignore[assignment]


def flow_source(stack: Stack, directory: Path, files: tuple[str, ...]) -> str | CarriedFlowCode:
    """What `flow.from_source(source=...)` gets for the flow files `files` of `directory`,
    as the stack's target delivers code to its worker.

    Raises:
        ValueError: the stack names a way this harness does not know.
    """
    how = stack.tools["prefect"].expect.get("flow_code", SHARED)
    if how == SHARED:
        return str(directory)
    if how == CARRIED:
        return CarriedFlowCode(directory, files)
    msg = f"prefect: the stack's expect.flow_code is {how!r}; known: {SHARED}, {CARRIED}"
    raise ValueError(msg)
