"""Launchers, one tool each: what processes to start and what the checks need to reach them.

`LAUNCHERS` maps a tool name to its class as a dotted path, imported only when the tool runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.launchers.base import Launcher

LAUNCHERS: dict[str, str] = {
    "mlflow": "harness.launchers.mlflow:MlflowLauncher",
    "dask": "harness.launchers.dask:DaskLauncher",
    "seldon": "harness.launchers.seldon:SeldonLauncher",
    "jupyterhub": "harness.launchers.jupyterhub:JupyterhubLauncher",
    "postgres": "harness.launchers.postgres:PostgresLauncher",
    "redis": "harness.launchers.redis:RedisLauncher",
    "prefect": "harness.launchers.prefect:PrefectLauncher",
    "feast": "harness.launchers.feast:FeastLauncher",
}


def get_launcher_class(tool: str) -> type[Launcher]:
    """Import and return the launcher class registered for `tool`.

    Raises:
        KeyError: no launcher is registered for `tool`.

    """
    module_name, _, class_name = LAUNCHERS[tool].partition(":")
    cls: type[Launcher] = getattr(importlib.import_module(module_name), class_name)
    return cls
