"""The environment the checks run a Prefect flow in themselves, outside the stack's worker:
the worker's (Prefect at the version the target says it runs, with prefect-dask) whose Dask
matches the Dask workers', so a flow's tasks can run on that cluster.

Public API:
    flow_python(stack) -> that environment, built with uv on first use (on the local target,
        the one the Prefect worker runs)
"""

from __future__ import annotations

import importlib.metadata
from typing import TYPE_CHECKING

from harness.dask_client import workers_version
from harness.launchers._server_env import built_now, component_stages

if TYPE_CHECKING:
    from harness.launchers.base import PythonEnv
    from harness.stack import Stack


def flow_python(stack: Stack) -> PythonEnv:
    """Prefect as the stack's worker (else its server) runs it, or the harness's where the
    target names no version; the flows' packages as the Dask workers have them
    (`workers_version`: what they report, on a cluster too).

    Raises:
        ProvisionError: the environment could not be built; the message quotes uv.
    """
    claimed = stack.tools["prefect"].versions
    prefect = claimed.get("worker") or claimed.get("server") or \
        importlib.metadata.version("prefect")
    dask = workers_version(stack) if "dask" in stack.tools else None
    return built_now(component_stages("prefect", "worker", prefect, dask))
