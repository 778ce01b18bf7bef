"""Dask: a scheduler and the chart's `worker.replicas` workers, each with its `worker.env`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.launchers._installed import installed_versions
from harness.launchers._server_env import server_python
from harness.launchers.base import Launcher, ProcessSpec, Stage, free_port
from harness.settings import DaskSettings
from harness.stack import ToolEntry

if TYPE_CHECKING:
    from collections.abc import Iterator

    from harness.launchers.base import LaunchContext


class DaskLauncher(Launcher):
    """`dask scheduler` plus one `dask worker` process per replica, as the chart deploys them."""

    NAME = "dask"

    def __init__(self, context: LaunchContext) -> None:
        super().__init__(context)
        # What the checks expect comes from the scenario; what runs, from the chart's values.
        self.settings = DaskSettings.from_scenario(context.scenario)
        values = context.values
        self.replicas = int(values.get("dask", "worker.replicas", 0))
        self.environment = {str(e["name"]): str(e.get("value", ""))
                            for e in values.get("dask", "worker.env", []) if e.get("name")}
        self.worker_name = str(values.get("dask", "worker.name", "worker"))
        self.scheduler_port = free_port()
        self.dashboard_port = free_port()
        # Until processes() has the chart versions' environments (one per image: the values
        # could give the scheduler and the workers different ones).
        self.python = {"scheduler": context.python, "workers": context.python}

    @property
    def scheduler_address(self) -> str:
        """The scheduler's TCP address."""
        return f"tcp://127.0.0.1:{self.scheduler_port}"

    def processes(self) -> Iterator[Stage]:
        """Yield the builds of the scheduler's and the workers' environments at their images'
        versions (once), then the scheduler, then all workers side by side.
        """
        for component in ("scheduler", "workers"):
            self.python[component] = yield from server_python(self.context, self.NAME,
                                                              component)
        yield ProcessSpec(
            name="dask-scheduler",
            argv=self.python["scheduler"].module(
                "distributed.cli.dask_scheduler",
                "--host", "127.0.0.1", "--port", str(self.scheduler_port),
                "--dashboard-address", f"127.0.0.1:{self.dashboard_port}",
            ),
            health_url=f"http://127.0.0.1:{self.dashboard_port}/health",
            timeout_s=self.context.timeout_s("dask-scheduler"),
        )
        workers = [self._worker(index) for index in range(self.replicas)]
        if workers:  # none when the values ask for none: the worker-count check says so
            yield workers

    def _worker(self, index: int) -> ProcessSpec:
        name = f"{self.worker_name}-{index}"
        port = free_port()
        return ProcessSpec(
            name=f"dask-{name}",
            argv=self.python["workers"].module(
                "distributed.cli.dask_worker", self.scheduler_address,
                "--name", name, "--host", "127.0.0.1", "--nthreads", "1",
                "--dashboard-address", f"127.0.0.1:{port}",
                "--local-directory", str(self.context.state_dir / name),
            ),
            env=self.environment,
            health_url=f"http://127.0.0.1:{port}/health",
            timeout_s=self.context.timeout_s("dask-worker"),
        )

    def entry(self) -> ToolEntry:
        """Scheduler and dashboard addresses; the worker count and environment the scenario
        asks for.
        """
        return ToolEntry(
            endpoints={
                "scheduler": self.scheduler_address,
                "dashboard": f"http://127.0.0.1:{self.dashboard_port}",
            },
            expect={
                "workers": self.settings.worker_replicas,
                "worker_environment": self.settings.environment,
            },
        )

    def versions(self, entry: ToolEntry) -> dict[str, str]:
        """`distributed` as installed where the scheduler and workers run (not what they
        report to a client: the check compares the two).
        """
        return {component: installed_versions(python.python, "distributed")["distributed"]
                for component, python in self.python.items()}
