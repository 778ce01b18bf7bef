"""The environment a tool's servers run from: the package version its chart deploys, built with
uv and cached by its pins (`harness.envs`), so a version set fixes what runs.

Public API:
    server_requirements(tool, component, version) -> pins, or None where the tool's servers
        still run the harness's own environment (`HARNESS_ENV_REASONS` says why)
    env_stages(label, requirements) -> a generator of build tasks that returns the PythonEnv
    server_env(tool, component, version) -> how that component's environment is built
    server_python(context, tool, component) -> the same for a component at its chart's version
    component_stages(tool, component, version, flows_dask_version) -> the same, by version
    flow_dependencies(dask_version) -> build tasks that return the exact pins of what the
        flows import besides Prefect, matching the Dask cluster's
    built_now(stages) -> run such build tasks here and now (the checks, outside a supervisor)
"""

from __future__ import annotations

import importlib.metadata
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.envs import building, run_build_step
from harness.launchers._installed import installed_versions
from harness.launchers.base import PythonEnv, TaskSpec
from harness.release_dates import resolved_as_of

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

    from harness.launchers.base import LaunchContext

# What the flows the checks run import besides Prefect: the journey's computes on the Dask
# cluster, and `prefect.dask-task-runner` sends its tasks there. On a cluster the flows' image
# carries them, built to match the Dask cluster it talks to (distributed wants client,
# scheduler and workers of one version). Here they are pinned exactly as the Dask workers'
# image has them; without Dask in the stack, as the harness has them. Not cloudpickle: Prefect
# itself needs a newer one (>= 3.1.1 from 3.8 on) than Dask 2024.1's image carries (3.0.0).
FLOW_DEPENDENCIES = ("dask", "distributed", "pandas", "numpy", "pyarrow", "msgpack", "toolz")


def following_the_harness(packages: tuple[str, ...]) -> tuple[str, ...]:
    """`package==version` as the harness's environment has each of `packages` installed."""
    pins = []
    for package in packages:
        try:
            pins.append(f"{package}=={importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return tuple(pins)


def _dask_image(version: str) -> tuple[str, ...]:
    return (f"distributed=={version}", f"dask[dataframe]=={version}", "pyarrow")


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
    # The worker runs the flows, with prefect-dask's task runner; `flow_dependencies` adds
    # what they compute with.
    ("prefect", "worker"): lambda version: (f"prefect=={version}", "prefect-dask"),
    # The chart's image (ghcr.io/dask/dask): Dask and its dataframe stack, with pyarrow for the
    # Parquet the journey's flow writes.
    ("dask", "scheduler"): _dask_image,
    ("dask", "workers"): _dask_image,
}

# Why a tool's servers run the harness's environment rather than their chart's version: the
# version drift table quotes it. (Every tool with a Python server follows its chart now.)
HARNESS_ENV_REASONS: dict[str, str] = {}


def server_requirements(tool: str, component: str, version: str) -> tuple[str, ...] | None:
    """The pins that run `tool`'s `component` at `version`; None where it runs the harness's
    environment.

    >>> server_requirements("prefect", "server", "3.8.3")
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


def server_env(tool: str, component: str, version: str,
               flows: tuple[str, ...] = ()) -> ServerEnv | None:
    """The environment that runs `tool`'s `component` at `version`, with the exact `flows`
    pins (`flow_dependencies`) added; None where it runs the harness's.
    """
    pins = server_requirements(tool, component, version)
    if pins is None:
        return None
    # Its dependencies as they were when the chart's image was built: what it was tested with.
    # The flows' pins follow the Dask cluster (or the harness), of another date, and are exempt.
    return ServerEnv(label=f"{tool}-{version}" + ("-flows" if flows else ""),
                     pins=(*pins, *flows), as_of=resolved_as_of(_name(pins[0]), version),
                     exempt=tuple(_name(pin) for pin in flows))


def flow_dependencies(dask_version: str | None) -> Generator[TaskSpec, None, tuple[str, ...]]:
    """Yield the tasks that build the Dask workers' environment at `dask_version` (none once it
    is cached) and return `FLOW_DEPENDENCIES` pinned exactly as it has them installed; without
    a Dask version, as the harness has them.
    """
    if not dask_version:
        return following_the_harness(FLOW_DEPENDENCIES)
    dask = yield from component_stages("dask", "workers", dask_version, None)
    installed = installed_versions(dask.python, *FLOW_DEPENDENCIES)
    return tuple(f"{package}=={installed[package]}" for package in FLOW_DEPENDENCIES)


def server_python(context: LaunchContext, tool: str,
                  component: str) -> Generator[TaskSpec, None, PythonEnv]:
    """The environment `tool`'s `component` runs from: built at the version its chart deploys
    (`context.chart_versions`), else the context's interpreter (the harness's, or the one the
    scenario's `local.python` names).
    """
    version = context.chart_versions.get(component)
    if not version or server_requirements(tool, component, version) is None:
        return context.python
    return (yield from component_stages(tool, component, version, context.flows_dask_version))


def component_stages(tool: str, component: str, version: str,
                     flows_dask_version: str | None) -> Generator[TaskSpec, None, PythonEnv]:
    """Yield the tasks that build `tool`'s `component` at `version` (a Prefect worker's with
    the flows' packages of `flows_dask_version`, building that Dask first) and return it.
    """
    flows: tuple[str, ...] = ()
    if (tool, component) == ("prefect", "worker"):
        flows = yield from flow_dependencies(flows_dask_version)
    env = server_env(tool, component, version, flows)
    assert env is not None, f"{tool} {component} has no environment of its own"
    return (yield from env_stages(env.label, env.pins, env.as_of, env.exempt))


def built_now(stages: Generator[TaskSpec, None, PythonEnv]) -> PythonEnv:
    """Run `stages`' build tasks here, one after the other, and return the environment: for the
    checks, which build the client environment they need outside any supervisor.

    Raises:
        ProvisionError: a build step failed or took too long; the message quotes its output.
    """
    try:
        task = next(stages)
        while True:
            run_build_step(task.argv, task.name, task.timeout_s)
            task = stages.send(None)
    except StopIteration as done:
        python: PythonEnv = done.value
        return python


def _name(pin: str) -> str:
    return re.split(r"[\[=<>]", pin, maxsplit=1)[0]
