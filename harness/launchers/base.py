"""What every launcher is: process specs to start in order, and a Stack entry once they run."""

from __future__ import annotations

import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import port_for

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from harness.scenario import Scenario
    from harness.stack import ToolEntry

from harness.launchers.chart_values import ChartValues
from harness.secrets import SecretStore


@dataclass(frozen=True)
class PythonEnv:
    """The Python environment a server runs from (default: the harness's own)."""

    python: Path = field(default_factory=lambda: Path(sys.executable))

    def module(self, name: str, *args: str) -> list[str]:
        """Argv that runs `python -m name args...` in this environment."""
        return [str(self.python), "-m", name, *args]


@dataclass(frozen=True)
class ProcessSpec:
    """One server process: how to start it and how to know it is ready."""

    name: str
    argv: list[str]
    health_url: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 60.0
    # For a server without an HTTP health endpoint (PostgreSQL, Redis): True once it serves.
    ready_check: Callable[[], bool] | None = None
    # Signal that stops it, when SIGTERM does not (e.g. a Prefect worker can hang on it).
    stop_signal: int | None = None

    def __post_init__(self) -> None:
        if bool(self.health_url) == (self.ready_check is not None):
            msg = f"process {self.name!r}: give exactly one of health_url or ready_check"
            raise ValueError(msg)

    @property
    def readiness(self) -> str:
        """How readiness is judged, for messages: the health URL, or "its readiness probe"."""
        return self.health_url or "its readiness probe"


@dataclass(frozen=True)
class TaskSpec:
    """One command that must finish with exit code 0 before the next stage (e.g. `initdb`).

    The supervisor runs it, so a run that stops meanwhile kills it like any server.
    """

    name: str
    argv: list[str]
    env: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 120.0
    unset_env: tuple[str, ...] = ()  # variables of the harness's environment it must not see


# A port is picked now and bound by its server seconds later. Picked from the ephemeral range
# (as bind to port 0 does), it can meanwhile become the source port of some client's
# connection, and the server then fails with "address already in use". port-for picks outside
# that range; this process never hands out the same port twice.
_HANDED_OUT: set[int] = set()
_HANDED_OUT_LOCK = threading.Lock()


def free_port() -> int:
    """Return a TCP port outside the ephemeral range that nothing listens on right now."""
    with _HANDED_OUT_LOCK:
        port = port_for.select_random(exclude_ports=_HANDED_OUT)
        _HANDED_OUT.add(port)
        return port


@dataclass(frozen=True)
class LaunchContext:
    """What a launcher is given: its scenario, a private state directory, a Python env, and
    its module's rendered Helm values, which configure what it runs (the scenario gives the
    checks' expectations and local plumbing only).
    """

    scenario: Scenario
    state_dir: Path
    python: PythonEnv = field(default_factory=PythonEnv)
    default_timeout_s: float = 90.0
    secrets: SecretStore = field(default_factory=SecretStore)
    values: ChartValues = field(default_factory=ChartValues)
    # {component: version} as the tool's charts deploy it, where its servers run at that
    # version (`_server_env`); empty: they run `python`.
    chart_versions: Mapping[str, str] = field(default_factory=dict)
    # The Dask version the flows' environment matches (the Dask workers' chart version): a
    # Prefect worker's flows compute on that cluster. None: they follow the harness's.
    flows_dask_version: str | None = None

    def timeout_s(self, component: str) -> float:
        """Readiness timeout for `component`, from the scenario's `local.ready_timeout_s`."""
        return self.scenario.local.ready_timeout_s.get(component, self.default_timeout_s)


Stage = ProcessSpec | TaskSpec | Sequence[ProcessSpec]


class Launcher(ABC):
    """Starts one tool. Knows that tool only, and nothing of targets."""

    NAME: ClassVar[str]
    # Launchers whose servers must be ready before this one starts (e.g. "postgres").
    REQUIRES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, context: LaunchContext) -> None:
        # Nothing is created here: building launchers is part of validation, which starts
        # nothing and writes nothing. The target creates `state_dir` before `processes()`.
        self.context = context

    @classmethod
    def unsupported(cls, scenario: Scenario) -> str | None:
        """Why this launcher cannot run `scenario` yet (its checks are skipped), else None."""
        return None

    def requires(self) -> tuple[str, ...]:
        """Launchers this one needs in its scenario: REQUIRES, or fewer when settings say so."""
        return self.REQUIRES

    def bind(self, required: Mapping[str, Launcher]) -> None:  # noqa: B027 - optional hook
        """Called before anything starts with the launchers named in REQUIRES, so this one can
        ask them for what it needs (a database, a user) and read their endpoints later.
        """

    @abstractmethod
    def processes(self) -> Iterator[Stage]:
        """Yield what to start, in order: a spec, a task, or a list of specs started side by
        side. Each stage is ready (a task: finished) before the next is asked for.
        """

    @abstractmethod
    def entry(self) -> ToolEntry:
        """The tool's Stack entry: endpoints, credential references, what the scenario expects."""

    def versions(self, entry: ToolEntry) -> dict[str, str]:
        """Ask the running servers for their versions; `{component: version}`."""
        return {}

    def schema_store(self) -> str | None:
        """The SQLAlchemy URL of the database whose schema this tool migrates (an upgrade reads
        its Alembic revision there), else None.
        """
        return None

    def findings(self) -> list[str]:
        """Insecure defaults in effect with this scenario, one line each, for the report."""
        return []

    def version_note(self, component: str) -> str:
        """Why `component` runs at another version than the chart deploys, if this launcher
        knows better than "what the environment has" (e.g. a deliberate substitute).
        """
        return ""
