"""The environment a tool's servers run from: the package version its chart deploys, built with
uv and cached by its pins (`harness.envs`), so a version set fixes what runs.

Public API:
    server_requirements(tool, component, version) -> pins, or None where the tool's servers
        still run the harness's own environment (`HARNESS_ENV_REASONS` says why)
    env_stages(label, requirements) -> a generator of build tasks that returns the PythonEnv
    server_env(tool, component, version) -> how that component's environment is built
    server_python(context, tool, component) -> the same for a component at its chart's version
"""

from __future__ import annotations

import importlib.metadata
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.envs import building
from harness.launchers.base import PythonEnv, TaskSpec
from harness.release_dates import resolved_as_of

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

    from harness.launchers.base import LaunchContext

# What the flows the checks deploy import besides Prefect (the journey's computes on the Dask
# cluster): on a cluster the flow's image carries them; here the process worker runs flows in
# its own interpreter. They follow the harness's versions, so the flow's Dask client matches
# the cluster's scheduler and what it pickles reads back the same.
FLOW_DEPENDENCIES = ("dask", "distributed", "pandas", "numpy", "pyarrow", "cloudpickle")


def following_the_harness(packages: tuple[str, ...]) -> tuple[str, ...]:
    """`package==version` as the harness's environment has each of `packages` installed."""
    pins = []
    for package in packages:
        try:
            pins.append(f"{package}=={importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return tuple(pins)


# The pins of a component's environment at `version`, the app version its chart deploys: the
# first is the tool itself, whose dependencies resolve as of its release; the rest are exact.
_PACKAGES: dict[tuple[str, str], Callable[[str], tuple[str, ...]]] = {
    # The chart's image carries PostgreSQL drivers for `backendStore.postgres`: psycopg2, the
    # default of its `postgresql://` URL, and psycopg for `driver: psycopg`.
    ("mlflow", "server"): lambda version: (f"mlflow=={version}", "psycopg2-binary",
                                           "psycopg[binary]"),
    # The chart's hub image, proxy image and single-user image: the hub, the PyPI
    # configurable-http-proxy, the authenticators, and a Jupyter server with a kernel.
    ("jupyterhub", "hub"): lambda version: (f"jupyterhub=={version}", "configurable-http-proxy",
                                           "oauthenticator", "jupyter-server", "ipykernel"),
    ("prefect", "server"): lambda version: (f"prefect=={version}",),
    # The feature server's image: Feast with the drivers of the stores its chart configures.
    ("feast", "server"): lambda version: (f"feast[postgres,redis]=={version}",),
    ("prefect", "worker"): lambda version: (f"prefect=={version}",
                                            *following_the_harness(FLOW_DEPENDENCIES)),
}

# Why a tool's servers run the harness's environment rather than their chart's version: the
# version drift table quotes it.
HARNESS_ENV_REASONS: dict[str, str] = {
    "dask": ("the checks' Dask client runs in the harness's environment, and distributed "
             "requires client, scheduler and workers of one version: the servers follow the "
             "client"),
}


def server_requirements(tool: str, component: str, version: str) -> tuple[str, ...] | None:
    """The pins that run `tool`'s `component` at `version`; None where it runs the harness's
    environment.

    >>> server_requirements("prefect", "worker", "3.8.3")
    ('prefect==3.8.3',)
    """
    pins = _PACKAGES.get((tool, component))
    return pins(version) if pins is not None else None


def env_stages(label: str, requirements: tuple[str, ...], exclude_newer: str | None = None,
               exempt: tuple[str, ...] = ()) -> Generator[TaskSpec, None, PythonEnv]:
    """Yield the tasks that build environment `label` with `requirements` (none once it is
    cached) and return it; the supervisor runs them, so a run stopped meanwhile stops the build.

    >>> python = yield from env_stages("mlflow-3.15.1", ("mlflow==3.15.1",))
    """
    with building(label, requirements, exclude_newer, exempt) as build:
        for step, argv in enumerate(build.steps):
            yield TaskSpec(name=f"{label}-env-{step}", argv=argv, env=build.env, timeout_s=900,
                           unset_env=build.unset_env)
    return build.python


@dataclass(frozen=True)
class ServerEnv:
    """How a component's environment at a chart version is built: its cache label, its pins,
    the time its dependencies resolve as of, and the pins exempt from that time.
    """

    label: str
    pins: tuple[str, ...]
    as_of: str | None
    exempt: tuple[str, ...]


def server_env(tool: str, component: str, version: str) -> ServerEnv | None:
    """The environment that runs `tool`'s `component` at `version`; None where it runs the
    harness's.
    """
    pins = server_requirements(tool, component, version)
    if pins is None:
        return None
    # Its dependencies as they were when the chart's image was built: what it was tested with.
    # The exact pins that follow the harness are newer, and exempt.
    exempt = tuple(_name(pin) for pin in pins[1:] if "==" in pin)
    return ServerEnv(label=f"{tool}-{version}" + ("-flows" if exempt else ""), pins=pins,
                     as_of=resolved_as_of(_name(pins[0]), version), exempt=exempt)


def server_python(context: LaunchContext, tool: str,
                  component: str) -> Generator[TaskSpec, None, PythonEnv]:
    """The environment `tool`'s `component` runs from: built at the version its chart deploys
    (`context.chart_versions`), else the context's interpreter (the harness's, or the one the
    scenario's `local.python` names).
    """
    version = context.chart_versions.get(component)
    env = server_env(tool, component, version) if version else None
    if env is None:
        return context.python
    return (yield from env_stages(env.label, env.pins, env.as_of, env.exempt))


def _name(pin: str) -> str:
    return re.split(r"[\[=<>]", pin, maxsplit=1)[0]
